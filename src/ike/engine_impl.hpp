// Engine::Impl: the IKEv2 state machines behind ike::Engine. See sa_state.hpp
// for the state it owns and which file handles which exchange.
#pragma once

#include <map>

#include "ike/sa_state.hpp"

namespace ferry::ike {

// §2.1 retransmission: first after 1 s, doubling, at most 8 s apart; a request is given
// up after PeerSettings::dpd_timeout (default 30 s, about 5 retransmissions).
inline constexpr std::chrono::seconds kRetransmitBase{1}, kRetransmitMax{8};
// Initiator backoff between failed attempts to establish.
inline constexpr std::chrono::seconds kBackoffMax{60};
// A responder half-open SA (IKE_SA_INIT answered, no IKE_AUTH) is dropped after this.
inline constexpr std::chrono::seconds kHalfOpenTimeout{30};
// §2.6: with this many half-open SAs, IKE_SA_INIT requests must bring a cookie.
inline constexpr size_t kCookieThreshold = 10;

struct Engine::Impl {
  Impl(ipsec::ChildSaSink& sink, ipsec::IkeSender& out, Rng rng);

  ipsec::ChildSaSink& sink;
  ipsec::IkeSender& out;
  Rng rng;
  std::function<void(const std::string&, bool, const std::string&)> listener;
  std::map<std::string, std::unique_ptr<Peer>> peers;
  Counters counters;
  Bytes cookie_secret;  // §2.6, drawn once at construction

  // ---- engine.cpp: dispatch, timers
  void on_datagram(std::span<const uint8_t> raw, const tunnel::UdpEndpoint& from, bool natt,
                   TimePoint now);
  void tick(TimePoint now);
  void tick_sa(Peer& p, IkeSa& sa, TimePoint now);
  IkeSa* find_sa(const Header& h, Peer** owner);
  Peer* peer_by_address(const IpAddress& a);
  void set_up(Peer& p, bool up, const std::string& reason);
  // Removes the SA's CHILD_SAs from the data plane and marks it dead (reaped in tick).
  void kill_sa(Peer& p, IkeSa& sa, const std::string& reason, TimePoint now);
  nlohmann::json show_peer(const Peer& p, TimePoint now) const;

  uint64_t new_ike_spi();
  uint32_t new_child_spi();
  Bytes new_nonce();
  std::chrono::seconds jitter(std::chrono::seconds margin);

  // ---- exchange.cpp: sending, retransmission, duplicate requests
  void send_request(IkeSa& sa, Exchange x, const std::vector<Payload>& inner, Pending p,
                    TimePoint now);
  void send_response(IkeSa& sa, Exchange x, uint32_t msg_id, const std::vector<Payload>& inner);
  void send_wire(IkeSa& sa, const Bytes& wire);
  void retransmit(Peer& p, IkeSa& sa, TimePoint now);
  // Request: checks the message ID (§2.3); answers a retransmission from the cache.
  // Returns false when the request is not to be processed.
  bool accept_request(IkeSa& sa, const Message& m);
  // Decrypts and decodes the SK payload; counts and returns nullopt on failure.
  std::optional<Inbound> open(IkeSa& sa, const Message& m, std::span<const uint8_t> raw,
                              TimePoint now);

  // ---- ike_init.cpp: IKE_SA_INIT and IKE_AUTH (§1.2)
  void start_initiator(Peer& p, TimePoint now, uint16_t group);
  size_t half_open() const;
  Bytes make_cookie(std::span<const uint8_t> ni, const IpAddress& ip, uint64_t spi_i);
  void on_init_request(const Message& m, std::span<const uint8_t> raw,
                       const tunnel::UdpEndpoint& from, bool natt, TimePoint now);
  void on_init_response(Peer& p, IkeSa& sa, const Message& m, std::span<const uint8_t> raw,
                        TimePoint now);
  void on_auth_request(Peer& p, IkeSa& sa, const Inbound& in);
  void on_auth_response(Peer& p, IkeSa& sa, const Inbound& in);
  void established(Peer& p, IkeSa& sa, TimePoint now);
  void attempt_failed(Peer& p, IkeSa& sa, const std::string& why, TimePoint now);

  // ---- child.cpp: CHILD_SAs, CREATE_CHILD_SA, INFORMATIONAL (§1.3, §1.4)
  ChildSa install_child(Peer& p, IkeSa& sa, const Suite& s, uint32_t spi_in, uint32_t spi_out,
                        std::span<const uint8_t> shared, std::span<const uint8_t> ni,
                        std::span<const uint8_t> nr, bool we_initiated, TimePoint now);
  void remove_child(Peer& p, uint32_t spi_in);
  void start_child_rekey(Peer& p, IkeSa& sa, ChildSa& c, TimePoint now);
  void start_ike_rekey(Peer& p, IkeSa& sa, TimePoint now);
  void start_delete_child(IkeSa& sa, uint32_t spi_in, TimePoint now);
  void start_delete_ike(Peer& p, IkeSa& sa, TimePoint now);
  void start_dpd(IkeSa& sa, TimePoint now);
  void on_create_child_request(Peer& p, IkeSa& sa, const Inbound& in);
  void on_create_child_response(Peer& p, IkeSa& sa, Pending& req, const Inbound& in);
  void on_informational_request(Peer& p, IkeSa& sa, const Inbound& in);
  void on_informational_response(Peer& p, IkeSa& sa, Pending& req, const Inbound& in);
};

}  // namespace ferry::ike
