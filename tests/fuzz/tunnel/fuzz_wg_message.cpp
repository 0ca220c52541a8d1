// libFuzzer target: one datagram as the device would receive it, dispatched
// on the message type through every consumer the protocol core exposes
// (mac1/mac2 checks, cookie reply creation, initiation consumption on the
// responder, response consumption on an initiator awaiting kInitIndex,
// cookie-reply consumption, transport decryption). MACs are checked but
// not required, so the fuzzer reaches the Noise code behind them.
// Must never crash, hang, leak or read out of bounds.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.hpp"
#include "tunnel/messages.hpp"

using namespace ferry::tunnel;
using namespace ferry::tunnel::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& f = fixture();
  std::span<const uint8_t> in(data, size);
  const TimePoint now = fuzz_now();
  FixedRng rng(9);
  auto type = peek_message_type(in);
  if (!type) return 0;

  switch (*type) {
    case MessageType::Initiation: {
      auto m = parse_initiation(in);
      if (!m) return 0;
      CookieChecker checker(f.responder.public_key, {}, rng);
      const auto src = CookieSource::from(ferry::IpAddress::v4(0x7f000001), 1234);
      (void)checker.check_mac1(in);
      (void)checker.check_mac2(in, src, now);
      (void)checker.create_reply(in, m->sender_index, src, now);
      Handshake peer(f.responder, f.initiator.public_key, f.psk);
      auto r = consume_initiation(f.responder, *m, now, [&](const Key& k) {
        return k == f.initiator.public_key ? &peer : nullptr;
      });
      if (r.error == HandshakeError::None) {
        auto resp = peer.create_response(kRespIndex, rng);
        if (resp) (void)peer.derive_keypair(now);
      }
      break;
    }
    case MessageType::Response: {
      auto m = parse_response(in);
      if (!m) return 0;
      CookieChecker checker(f.initiator.public_key, {}, rng);
      (void)checker.check_mac1(in);
      Handshake hs(f.initiator, f.responder.public_key, f.psk);
      if (!hs.create_initiation(kInitIndex, fuzz_timestamp(), rng)) return 0;
      if (hs.consume_response(*m) == HandshakeError::None) (void)hs.derive_keypair(now);
      break;
    }
    case MessageType::CookieReply: {
      auto m = parse_cookie_reply(in);
      if (!m) return 0;
      CookieGenerator gen(f.responder.public_key);
      std::array<uint8_t, kMessageInitiationSize> sent{};
      sent[0] = 1;
      gen.add_macs(sent, now);
      if (gen.consume_reply(*m, now)) gen.add_macs(sent, now);
      break;
    }
    case MessageType::Transport: {
      auto v = parse_transport(in);
      if (!v) return 0;
      Keypair kp(f.send_key(), f.recv_key(), kTransportIndex, 1, false, now);
      std::vector<uint8_t> out(v->ciphertext.size());
      (void)kp.decrypt(*v, out, now, kRejectAfterTime);
      break;
    }
  }
  return 0;
}
