// Proposal strings and selection (RFC 7296 §3.3, §2.7).
#include <gtest/gtest.h>

#include "ike/proposal.hpp"

namespace ferry::ike {
namespace {

TEST(IkeProposal, ParsesStrongSwanStrings) {
  auto g = parse_proposal("aes256gcm16-prfsha256-ecp256", kProtoIke);
  ASSERT_TRUE(g) << g.error();
  EXPECT_EQ(g->encr, kEncrAesGcm16);
  EXPECT_EQ(g->key_bits, 256);
  EXPECT_EQ(g->prf, kPrfHmacSha256);
  EXPECT_EQ(g->dh, kEcp256);
  EXPECT_EQ(g->str(), "aes256gcm16-prfsha256-ecp256");
  auto c = parse_proposal("aes128-sha384-modp2048", kProtoIke);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->prf, kPrfHmacSha384);  // implied by the integrity algorithm
  EXPECT_EQ(c->integ, kIntegHmacSha384_192);
  auto e = parse_proposal("aes128-sha256", kProtoEsp);
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->dh, 0);
  EXPECT_FALSE(parse_proposal("aes128-sha256", kProtoIke));            // no DH group
  EXPECT_FALSE(parse_proposal("aes256gcm16-ecp256", kProtoIke));       // no PRF
  EXPECT_FALSE(parse_proposal("aes256gcm16-sha256", kProtoEsp));       // AEAD + integrity
  EXPECT_FALSE(parse_proposal("3des-sha1-modp1024", kProtoIke));       // not implemented
  EXPECT_FALSE(parse_proposal("aes128-aes256-sha256", kProtoEsp));     // two ciphers
  EXPECT_FALSE(parse_proposal("aes128-sha256-prfsha256", kProtoEsp));  // PRF in ESP
}

TEST(IkeProposal, ResponderPicksInitiatorsFirstAcceptable) {
  auto ours =
      parse_proposals({"aes128-sha256-modp2048", "aes256gcm16-prfsha256-ecp256"}, kProtoIke);
  ASSERT_TRUE(ours);
  auto theirs = parse_proposals(
      {"aes256-sha512-curve25519", "aes256gcm16-prfsha256-ecp256", "aes128-sha256-modp2048"},
      kProtoIke);
  ASSERT_TRUE(theirs);
  auto offered = decode_sa(encode_sa(to_proposals(*theirs, kProtoIke, {}, true)));
  ASSERT_TRUE(offered);
  auto sel = select_proposal(*offered, *ours, kProtoIke, false);
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->suite.str(), "aes256gcm16-prfsha256-ecp256");
  EXPECT_EQ(sel->answer.num, 2);  // §3.3.1: the answer carries the chosen proposal's number
  auto back = accept_answer({sel->answer}, *theirs, kProtoIke, false);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->str(), sel->suite.str());
  auto none = parse_proposals({"aes128-sha512-ecp384"}, kProtoIke);
  EXPECT_FALSE(select_proposal(*offered, *none, kProtoIke, false));
}

TEST(IkeProposal, AnswerWithTwoTransformsOfATypeIsRefused) {
  auto ours = parse_proposals({"aes128-sha256-modp2048"}, kProtoIke);
  Proposal p = to_proposal((*ours)[0], kProtoIke, 1, {}, true);
  p.transforms.push_back({kDh, kEcp256, 0});
  EXPECT_FALSE(accept_answer({p}, *ours, kProtoIke, false));
}

TEST(IkeProposal, EspWithoutDhInIkeAuth) {
  auto ours = parse_proposals({"aes256gcm16-ecp256"}, kProtoEsp);
  ASSERT_TRUE(ours);
  Bytes spi = {1, 2, 3, 4};
  auto offered = to_proposals(*ours, kProtoEsp, spi, false);
  auto sel = select_proposal(offered, *ours, kProtoEsp, true);
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->suite.dh, 0);
  EXPECT_EQ(sel->peer_spi, spi);
  // With PFS required (CREATE_CHILD_SA) a proposal without the group does not match.
  EXPECT_FALSE(select_proposal(offered, *ours, kProtoEsp, false));
}

}  // namespace
}  // namespace ferry::ike
