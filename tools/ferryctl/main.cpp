// ferryctl: talks to ferryd over its control socket (line-delimited JSON, see
// src/ctl/registry.hpp) and prints aligned tables, or the raw result with --json.
// genkey and pubkey work locally and need no daemon.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "ctl/client.hpp"
#include "format.hpp"
#include "keys_cmd.hpp"
#include "mrt/table_dump.hpp"

namespace {

using ferryctl::Json;

// dump routes --mrt FILE: the daemon's base64 MRT data, decoded into FILE.
int write_mrt(const Json& result, const std::string& path, bool json) {
  std::vector<uint8_t> bytes;
  if (!result.contains("data") || !result["data"].is_string() ||
      !ferry::mrt::base64_decode(result["data"].get<std::string>(), bytes)) {
    std::fprintf(stderr, "ferryctl: ferryd sent no valid MRT data\n");
    return 1;
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "ferryctl: %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  Json summary = result;
  summary.erase("data");
  summary["file"] = path;
  if (json)
    std::printf("%s\n", summary.dump(2).c_str());
  else
    std::printf("%s: MRT TABLE_DUMP_V2, %s peers, %s IPv4 and %s IPv6 prefixes, %s bytes\n",
                path.c_str(), summary["peers"].dump().c_str(),
                summary["ipv4_prefixes"].dump().c_str(), summary["ipv6_prefixes"].dump().c_str(),
                summary["bytes"].dump().c_str());
  return 0;
}

int run(const std::string& socket, const std::string& command, const Json& args, bool json,
        const std::string& mrt_file) {
  auto reply = ferry::ctl::call(socket, command, args);
  if (!reply.ok()) {
    std::fprintf(stderr, "ferryctl: %s\n", reply.error().c_str());
    return 2;
  }
  const Json& r = *reply;
  if (!r.value("ok", false)) {
    if (json) std::printf("%s\n", r.dump(2).c_str());
    std::fprintf(stderr, "ferryctl: %s\n", r.value("error", std::string("unknown error")).c_str());
    return 1;
  }
  const Json& result = r["result"];
  if (command == "dump routes") return write_mrt(result, mrt_file, json);
  if (json) {
    std::printf("%s\n", result.dump(2).c_str());
    return 0;
  }
  ferryctl::FormatterMap fm;
  ferryctl::register_core_formatters(fm);
  ferryctl::register_bgp_formatters(fm);
  ferryctl::register_tunnel_formatters(fm);
  ferryctl::register_bfd_formatters(fm);
  ferryctl::register_bmp_formatters(fm);
  auto it = fm.find(command);
  if (it != fm.end()) {
    std::fputs(it->second(result).c_str(), stdout);
  } else {
    std::printf("%s\n", result.dump(2).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferryctl: control the ferry VPN gateway daemon", "ferryctl"};
  app.require_subcommand(1);
  // --json and --socket may also come after the subcommand ("show routes --json").
  app.fallthrough();
  std::string socket = "/run/ferry/ferry.sock";
  if (const char* env = std::getenv("FERRY_SOCKET")) socket = env;
  bool json = false;
  app.add_option("-s,--socket", socket, "ferryd control socket (env FERRY_SOCKET)");
  app.add_flag("-j,--json", json, "print machine-readable JSON");

  std::string command;
  Json args = Json::object();

  auto* show = app.add_subcommand("show", "show state")->require_subcommand(1);
  show->fallthrough();
  show->add_subcommand("status", "version, uptime, router id, ASN, config file")->callback([&] {
    command = "show status";
  });

  auto* neighbors = show->add_subcommand("neighbors", "BGP neighbors and their state");
  std::string neighbor_name;
  neighbors->add_option("name", neighbor_name, "only this neighbor");
  neighbors->callback([&] {
    command = "show neighbors";
    if (!neighbor_name.empty()) args["name"] = neighbor_name;
  });

  auto* routes = show->add_subcommand("routes", "routes in the RIB");
  std::string prefix, family, via;
  bool received = false, advertised = false;
  routes->add_option("prefix", prefix, "only this prefix");
  routes->add_option("--neighbor", via, "routes of this neighbor");
  routes->add_flag("--received", received, "the neighbor's Adj-RIB-In (before import policy)");
  routes->add_flag("--advertised", advertised, "the neighbor's Adj-RIB-Out");
  routes->add_option("--family", family, "ipv4 or ipv6")->check(CLI::IsMember({"ipv4", "ipv6"}));
  routes->callback([&] {
    command = "show routes";
    if (!prefix.empty()) args["prefix"] = prefix;
    if (!via.empty()) args["neighbor"] = via;
    if (received) args["received"] = true;
    if (advertised) args["advertised"] = true;
    if (!family.empty()) args["family"] = family;
  });

  auto* route = show->add_subcommand("route", "every path for a prefix and why each lost");
  std::string route_prefix;
  route->add_option("prefix", route_prefix, "the prefix")->required();
  route->callback([&] {
    command = "show route";
    args["prefix"] = route_prefix;
  });

  show->add_subcommand("tunnels", "WireGuard and IPsec tunnel peers")->callback([&] {
    command = "show tunnels";
  });
  show->add_subcommand("fib", "kernel FIB state")->callback([&] { command = "show fib"; });
  show->add_subcommand("bfd", "BFD sessions")->callback([&] { command = "show bfd"; });
  show->add_subcommand("health", "health checks for conditional advertisement")->callback([&] {
    command = "show health";
  });
  show->add_subcommand("config", "the running configuration, normalised (needs reload rights)")
      ->callback([&] { command = "show config"; });
  show->add_subcommand("bmp", "BMP monitoring stations")->callback([&] { command = "show bmp"; });

  auto* reload = app.add_subcommand("reload", "re-read the configuration file and apply changes");
  reload->fallthrough();
  bool dry_run = false, commit = false, undo = false;
  uint32_t confirm = 0;
  auto* dry_opt =
      reload->add_flag("--dry-run", dry_run, "print what would change and which sessions reset");
  auto* confirm_opt =
      reload
          ->add_option("--confirm", confirm,
                       "apply, and roll back after SECONDS unless `reload --commit` follows")
          ->type_name("SECONDS")
          ->check(CLI::Range(1, 86400));
  auto* commit_opt =
      reload->add_flag("--commit", commit, "keep the configuration applied with --confirm");
  auto* undo_opt = reload->add_flag("--undo", undo, "roll back an unconfirmed reload now");
  dry_opt->excludes(confirm_opt)->excludes(commit_opt)->excludes(undo_opt);
  confirm_opt->excludes(commit_opt)->excludes(undo_opt);
  commit_opt->excludes(undo_opt);
  reload->callback([&] {
    command = "reload";
    if (dry_run) args["dry_run"] = true;
    if (*confirm_opt) args["confirm"] = confirm;
    if (commit) args["commit"] = true;
    if (undo) args["undo"] = true;
  });

  auto* clear = app.add_subcommand("clear", "reset state")->require_subcommand(1);
  clear->fallthrough();
  auto* clear_neighbor = clear->add_subcommand("neighbor", "reset a BGP session");
  std::string clear_name;
  bool soft = false;
  clear_neighbor->add_option("name", clear_name, "neighbor name or address")->required();
  clear_neighbor->add_flag("--soft", soft, "soft reset: route refresh, no session reset");
  clear_neighbor->callback([&] {
    command = "clear neighbor";
    args["name"] = clear_name;
    args["soft"] = soft;
  });

  auto* clear_tunnel = clear->add_subcommand("tunnel", "rekey an IPsec peer's CHILD_SA");
  std::string tunnel_name;
  bool hard = false;
  clear_tunnel->add_option("name", tunnel_name, "IPsec peer name")->required();
  clear_tunnel->add_flag("--hard", hard, "re-establish the IKE SA instead");
  clear_tunnel->callback([&] {
    command = "clear tunnel";
    args["name"] = tunnel_name;
    args["hard"] = hard;
  });

  auto* dump = app.add_subcommand("dump", "write state to a file")->require_subcommand(1);
  dump->fallthrough();
  auto* dump_routes = dump->add_subcommand("routes", "the Loc-RIB's best routes (RFC 6396 MRT)");
  std::string mrt_file;
  dump_routes->add_option("--mrt", mrt_file, "write MRT TABLE_DUMP_V2 to this file")->required();
  dump_routes->callback([&] {
    command = "dump routes";
    args["format"] = "mrt";
  });

  int local_rc = -1;
  app.add_subcommand("genkey", "print a new base64 private key (no daemon needed)")->callback([&] {
    local_rc = ferryctl::cmd_genkey();
  });
  app.add_subcommand("pubkey", "read a private key on stdin, print its public key")->callback([&] {
    local_rc = ferryctl::cmd_pubkey();
  });

  CLI11_PARSE(app, argc, argv);
  if (local_rc >= 0) return local_rc;
  return run(socket, command, args, json, mrt_file);
}
