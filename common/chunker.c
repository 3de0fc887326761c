/*
 * chunker.c - FastCDC 2020 content-defined chunking, normalized level 2.
 *
 * For each chunk, the fingerprint starts at 0 at offset min and takes one
 * byte at a time: fp = (fp << 1) + gear[byte].  A cut after the byte at
 * offset i (chunk length i + 1) happens when fp & mask is zero, with
 * mask_s for i < avg and mask_l from avg on; at max the chunk is cut
 * regardless.  The loop takes two bytes per step with a table shifted left
 * by one, as in the 2020 paper, and finds exactly the cut points of the
 * one-byte form (see chunker_scan()).
 *
 * Everything here (the table, the masks, the rules at the end of the input)
 * fixes where chunks are cut, and so which chunks already stored are found
 * again.  Changing any of it breaks deduplication against existing stores;
 * tests/unit/test_chunker.c pins the cut points of a fixed input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "error.h"
#include "hash.h"

/*
 * The Gear table: the first 256 outputs of SplitMix64 (Steele, Lea and
 * Flood 2014; the constants of Vigna's splitmix64.c) with the state seeded
 * to 0x6272616e63686c6e ("branchln" in ASCII):
 *
 *	z = (state += 0x9e3779b97f4a7c15);
 *	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *	z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *	gear[i] = z ^ (z >> 31);
 *
 * Written out, not computed, so that it is a constant on every machine;
 * the unit test regenerates it to check this copy.  gear_ls[] holds each
 * entry shifted left by one, for the two-byte loop.
 */
/* clang-format off */
static const uint64_t gear[256] = {
	0x9e82e6f688411c0fULL, 0xa1fd7c50c28d70dbULL, 0x5842d44ff76a86d5ULL,
	0x9563a16621677966ULL, 0x04fc39db53f8ce39ULL, 0x98a4dacc90676664ULL,
	0xf0bdd5e4678fd23eULL, 0x35fa75ff050d82fbULL, 0x2e3ccb8545c59c21ULL,
	0xb5889efb0be7341eULL, 0x0c23e8aea607d61aULL, 0x63a9200f3c2a7e57ULL,
	0x05a25c20e9cc9955ULL, 0xf7f8c1a1e6ca2681ULL, 0x4abbf54fad957aa0ULL,
	0x553e4fd11617d94dULL, 0xedf053cb5fd0ef3bULL, 0x98588b3c154d6a6aULL,
	0x5870fb989610b0e6ULL, 0xf449677b2820ac89ULL, 0xc637be8b98690888ULL,
	0x34eaea3134381c84ULL, 0x09c5efa1b0ee9763ULL, 0x6ed2e1fae47c68f8ULL,
	0x632d771aed73a015ULL, 0xa4a7dcd395861804ULL, 0x81a1cb8a4f10c3bcULL,
	0x4e8976a6177a8db3ULL, 0x3d5b79350bc1d32eULL, 0x9014f7b993e4572eULL,
	0x52a61cfde052bcc8ULL, 0xd88cec68781ed3bfULL, 0x027a9ea7e1f49b6cULL,
	0xfa5d4f4dbbc084dbULL, 0x13eee31c5da5e2dbULL, 0xfc98eb9bd7496fe7ULL,
	0x6d3f268f8aa4afbaULL, 0x31f7e694aa88a910ULL, 0xba788b2c3bd363d5ULL,
	0x9395e111fa6d7ef3ULL, 0xdff7dec81241e5edULL, 0x5ef6e05f7fad3a20ULL,
	0x68e487eb2a4a4413ULL, 0xc8e95ad5da5de676ULL, 0xe7fbe6317c0b8f9eULL,
	0x6f49f55096bf68d7ULL, 0xb557bdea09417559ULL, 0x4c2d03af0426763eULL,
	0xb20dfc57d0221c90ULL, 0xd1b836a7e6f6b420ULL, 0xc03663f021930b11ULL,
	0x34a3d4cf47d64901ULL, 0x2db549f8eb40cc57ULL, 0xf659febd9889ec7fULL,
	0x66d7d6bf538fab57ULL, 0x4be528a108e47d7dULL, 0x6ccfa0475956c07cULL,
	0x6a2587d2eb2715c1ULL, 0xe18a049024f41ecbULL, 0x92bc8044a8d092d0ULL,
	0x1248e9d22e414852ULL, 0x0262d629601988c5ULL, 0xd623216569dac70cULL,
	0x1d2a6beed26a647dULL, 0x5d94794b7951f0e3ULL, 0x411ff606e6412dc7ULL,
	0x93cd1abfc4703e11ULL, 0x61f0c9c28c4d5344ULL, 0x650a2e716fc8134bULL,
	0x029fdf7263441bddULL, 0x2068f70f1503fdecULL, 0x7eeaa8bf63b0f989ULL,
	0xaf6bd04fab72dbcaULL, 0x157024b11db1cb22ULL, 0xf96a60e1f11d7c4aULL,
	0x1d649aa1650dd745ULL, 0xbccd67553436d29bULL, 0x4741a722ca1787baULL,
	0xa1a352023e7a3d3aULL, 0x80abde67ea429131ULL, 0x62ef4ab0b7d8e468ULL,
	0xb507ad886a05a605ULL, 0xa0806145ec79a04fULL, 0xd95295db163f3c81ULL,
	0x0d56c396572a30e7ULL, 0x6486fd0528abb3f1ULL, 0x10277c999492984dULL,
	0xa71403f88e23d0faULL, 0x0622461dd3caba87ULL, 0x123f75c7d44f8a56ULL,
	0xad2125b633b07d3dULL, 0x40f25dff2747e32fULL, 0x3487f096c1796176ULL,
	0x374fda0d42305063ULL, 0x03c21bca753315b4ULL, 0x3018207d6ecb991dULL,
	0x4eb8bc0ee1186424ULL, 0x5c1ff589f533d844ULL, 0x17cb74a6dc4692adULL,
	0x91ed93712f729d6fULL, 0x5da83d06552acef7ULL, 0x4841b76e65c2a366ULL,
	0xbc9b9ae5ee22dd26ULL, 0xe7bea529b038139fULL, 0xbfd57fc0397d1069ULL,
	0xae08c42822dd4545ULL, 0x8bb2568abe941fcfULL, 0xf46af111be6d3cb9ULL,
	0xe95bc014883e31a0ULL, 0xb2aad7d95df14ce5ULL, 0xea00bb55e353bef1ULL,
	0x4a51ca869bf03ce8ULL, 0x193203197f8cb77aULL, 0xb7802aa1831195d9ULL,
	0x04336f74a96d2c23ULL, 0x2e6d862ab882c31fULL, 0xa9193b6a1daaf416ULL,
	0x0620c1cdcb71eb51ULL, 0xf77d31e45b09c6adULL, 0x7ba4de9828c3a742ULL,
	0x477e0460e2a8ff50ULL, 0x31b33b4dcccefcebULL, 0x932f642f0455d5d9ULL,
	0xc061832958cfc01bULL, 0x1b69090bfd20e100ULL, 0x42d0b4e67317d66cULL,
	0x0a9ac11f9c650354ULL, 0xf21a9f3679a92317ULL, 0x86c1fa917c4d53b9ULL,
	0xe025a523ce64d511ULL, 0x4e226c191eae1625ULL, 0x2c38516507e96d56ULL,
	0x02e9ca8760057808ULL, 0xf2803a83281f87b9ULL, 0xdc0ba0175b900d99ULL,
	0x703769ab70b824b5ULL, 0x8a656873e1f15229ULL, 0xe00cad82b127c06bULL,
	0x9cf8e930b10e9b46ULL, 0x1415a4544e2374bcULL, 0x48c05846fc685224ULL,
	0x370e2a2c01259dd1ULL, 0x69f506ff9bfbbd1cULL, 0x10f4a99497d966d8ULL,
	0xbd26dd7699880c38ULL, 0x1992c4e86d92b24fULL, 0x86fac7c6707e9ee8ULL,
	0x9da66eac029255adULL, 0x40cac547343b632cULL, 0xa2787af11645eaa4ULL,
	0x43d88157fe96e537ULL, 0xc302fec3ff51a194ULL, 0x81fa2c03564dc617ULL,
	0xc8bdb7e773c8881cULL, 0x5d966df2984f73ffULL, 0xf63ae04dc0e61a0eULL,
	0x3928011b78b4b34eULL, 0x2148293bdc41f393ULL, 0xb5c21ed5e5bbafa7ULL,
	0x6f26f10052f4fd60ULL, 0xda91a7e917493adfULL, 0x43f2e8b7c49cfb5dULL,
	0xaf5c0f991d99988cULL, 0x56edddd70e3729d2ULL, 0x78418d26463c4e00ULL,
	0x9362b7764c1c0d5cULL, 0x570388e175d48246ULL, 0x15b974d2ae867c81ULL,
	0xba051493d814a5caULL, 0x41ba27f0a25d67abULL, 0x838b54b1ee3a06afULL,
	0x722ca6c276bc5578ULL, 0x974356559394e262ULL, 0xa231fd9826b9e53bULL,
	0x262b6b161a639be5ULL, 0x8479b0ee9393cd4eULL, 0x0d7a7c045a6625d7ULL,
	0x9af22403753035deULL, 0x728b872205e92504ULL, 0xf3d6f9c8d9bb5a60ULL,
	0x7c47870a250e8115ULL, 0x49d6f28a4ef8fcc8ULL, 0x87e9fa60644784d8ULL,
	0xd3291af637898dfbULL, 0xa6d4f2b0f945b6a3ULL, 0x5bd1d039b4d20c66ULL,
	0xa7a290ff7e77d9c6ULL, 0x765d2af8947ab8ddULL, 0x5ca9e73ce8584dbdULL,
	0xa4885b533f813507ULL, 0x72d3ad171a7e078dULL, 0x838ebf5a50e725a6ULL,
	0x98fa5e07b6eb1c28ULL, 0xc330666f8124debaULL, 0xed85897e00a13cd7ULL,
	0xb10599d75820af81ULL, 0x9fe7fcba5244ce05ULL, 0xf9372d4537417b61ULL,
	0xd5d5afaf34f1099bULL, 0x883d91b051a07b5bULL, 0x776c7b02146d821cULL,
	0xe1a5c5bdbd86688fULL, 0x090d7a1052e64a7eULL, 0x41b13a3880a01b4bULL,
	0xe320c4bfe960e624ULL, 0x46b072a59301e0eeULL, 0xa5c2513831f1d29aULL,
	0xa8a985af0e2a3878ULL, 0xe63a68987c2222e7ULL, 0x86a516525be4918cULL,
	0xa50cf386cd1badb7ULL, 0xd880426128757eb4ULL, 0x219bac90f107e6cfULL,
	0x3c3405f70a6e0313ULL, 0xf6ff0375a814046eULL, 0x84b3c247ad47e929ULL,
	0x81accdcdedc16406ULL, 0x970d59e3d34efa8fULL, 0xbedc85a13fd12625ULL,
	0x086fd402515b874dULL, 0x883aad06b130dd0eULL, 0xb6dd4188cb3066f5ULL,
	0xa1b047ceba153890ULL, 0x801760431d2b62adULL, 0xb89bc146d8a7691aULL,
	0xddf0d436af61a241ULL, 0x265e15adce4645edULL, 0x0306dc1103db5976ULL,
	0x6307d4d88dc7c2f8ULL, 0x6706f0e2c01628e5ULL, 0xd05225a88a0f5f29ULL,
	0x41da057079149e4dULL, 0xeac34b11325fa93bULL, 0x1391e42d1b6119deULL,
	0xd033579555222e50ULL, 0x64a5faf57a0eb30fULL, 0x3da7d8458da8e41eULL,
	0x9d9655e07a18f0f1ULL, 0x3a742d3f078ed072ULL, 0xcc91eb928eec860cULL,
	0x4aca1488f9d4c78fULL, 0x243a420af4c69859ULL, 0x936c00adefca0cf5ULL,
	0x5ee180cb23f5f166ULL, 0xd09a662df0162788ULL, 0x5ca42ba15c0bfddaULL,
	0xb1b525311f9fcd1eULL, 0xb8579f793e62bba5ULL, 0xd7c02404152d63beULL,
	0x4e7cb7a654121c9dULL, 0xb24de90361ab4640ULL, 0x11c3ae29e1be6bccULL,
	0xcd26f14ad2a0103eULL, 0xc914ccefc035d9cbULL, 0x8f288b81d6711aedULL,
	0xaf407b93749d9906ULL,
};

static const uint64_t gear_ls[256] = {
	0x3d05cded1082381eULL, 0x43faf8a1851ae1b6ULL, 0xb085a89feed50daaULL,
	0x2ac742cc42cef2ccULL, 0x09f873b6a7f19c72ULL, 0x3149b59920ceccc8ULL,
	0xe17babc8cf1fa47cULL, 0x6bf4ebfe0a1b05f6ULL, 0x5c79970a8b8b3842ULL,
	0x6b113df617ce683cULL, 0x1847d15d4c0fac34ULL, 0xc752401e7854fcaeULL,
	0x0b44b841d39932aaULL, 0xeff18343cd944d02ULL, 0x9577ea9f5b2af540ULL,
	0xaa7c9fa22c2fb29aULL, 0xdbe0a796bfa1de76ULL, 0x30b116782a9ad4d4ULL,
	0xb0e1f7312c2161ccULL, 0xe892cef650415912ULL, 0x8c6f7d1730d21110ULL,
	0x69d5d46268703908ULL, 0x138bdf4361dd2ec6ULL, 0xdda5c3f5c8f8d1f0ULL,
	0xc65aee35dae7402aULL, 0x494fb9a72b0c3008ULL, 0x034397149e218778ULL,
	0x9d12ed4c2ef51b66ULL, 0x7ab6f26a1783a65cULL, 0x2029ef7327c8ae5cULL,
	0xa54c39fbc0a57990ULL, 0xb119d8d0f03da77eULL, 0x04f53d4fc3e936d8ULL,
	0xf4ba9e9b778109b6ULL, 0x27ddc638bb4bc5b6ULL, 0xf931d737ae92dfceULL,
	0xda7e4d1f15495f74ULL, 0x63efcd2955115220ULL, 0x74f1165877a6c7aaULL,
	0x272bc223f4dafde6ULL, 0xbfefbd902483cbdaULL, 0xbdedc0beff5a7440ULL,
	0xd1c90fd654948826ULL, 0x91d2b5abb4bbccecULL, 0xcff7cc62f8171f3cULL,
	0xde93eaa12d7ed1aeULL, 0x6aaf7bd41282eab2ULL, 0x985a075e084cec7cULL,
	0x641bf8afa0443920ULL, 0xa3706d4fcded6840ULL, 0x806cc7e043261622ULL,
	0x6947a99e8fac9202ULL, 0x5b6a93f1d68198aeULL, 0xecb3fd7b3113d8feULL,
	0xcdafad7ea71f56aeULL, 0x97ca514211c8fafaULL, 0xd99f408eb2ad80f8ULL,
	0xd44b0fa5d64e2b82ULL, 0xc314092049e83d96ULL, 0x2579008951a125a0ULL,
	0x2491d3a45c8290a4ULL, 0x04c5ac52c033118aULL, 0xac4642cad3b58e18ULL,
	0x3a54d7dda4d4c8faULL, 0xbb28f296f2a3e1c6ULL, 0x823fec0dcc825b8eULL,
	0x279a357f88e07c22ULL, 0xc3e19385189aa688ULL, 0xca145ce2df902696ULL,
	0x053fbee4c68837baULL, 0x40d1ee1e2a07fbd8ULL, 0xfdd5517ec761f312ULL,
	0x5ed7a09f56e5b794ULL, 0x2ae049623b639644ULL, 0xf2d4c1c3e23af894ULL,
	0x3ac93542ca1bae8aULL, 0x799aceaa686da536ULL, 0x8e834e45942f0f74ULL,
	0x4346a4047cf47a74ULL, 0x0157bccfd4852262ULL, 0xc5de95616fb1c8d0ULL,
	0x6a0f5b10d40b4c0aULL, 0x4100c28bd8f3409eULL, 0xb2a52bb62c7e7902ULL,
	0x1aad872cae5461ceULL, 0xc90dfa0a515767e2ULL, 0x204ef9332925309aULL,
	0x4e2807f11c47a1f4ULL, 0x0c448c3ba795750eULL, 0x247eeb8fa89f14acULL,
	0x5a424b6c6760fa7aULL, 0x81e4bbfe4e8fc65eULL, 0x690fe12d82f2c2ecULL,
	0x6e9fb41a8460a0c6ULL, 0x07843794ea662b68ULL, 0x603040fadd97323aULL,
	0x9d71781dc230c848ULL, 0xb83feb13ea67b088ULL, 0x2f96e94db88d255aULL,
	0x23db26e25ee53adeULL, 0xbb507a0caa559deeULL, 0x90836edccb8546ccULL,
	0x793735cbdc45ba4cULL, 0xcf7d4a536070273eULL, 0x7faaff8072fa20d2ULL,
	0x5c11885045ba8a8aULL, 0x1764ad157d283f9eULL, 0xe8d5e2237cda7972ULL,
	0xd2b78029107c6340ULL, 0x6555afb2bbe299caULL, 0xd40176abc6a77de2ULL,
	0x94a3950d37e079d0ULL, 0x32640632ff196ef4ULL, 0x6f00554306232bb2ULL,
	0x0866dee952da5846ULL, 0x5cdb0c557105863eULL, 0x523276d43b55e82cULL,
	0x0c41839b96e3d6a2ULL, 0xeefa63c8b6138d5aULL, 0xf749bd3051874e84ULL,
	0x8efc08c1c551fea0ULL, 0x6366769b999df9d6ULL, 0x265ec85e08ababb2ULL,
	0x80c30652b19f8036ULL, 0x36d21217fa41c200ULL, 0x85a169cce62facd8ULL,
	0x1535823f38ca06a8ULL, 0xe4353e6cf352462eULL, 0x0d83f522f89aa772ULL,
	0xc04b4a479cc9aa22ULL, 0x9c44d8323d5c2c4aULL, 0x5870a2ca0fd2daacULL,
	0x05d3950ec00af010ULL, 0xe5007506503f0f72ULL, 0xb817402eb7201b32ULL,
	0xe06ed356e170496aULL, 0x14cad0e7c3e2a452ULL, 0xc0195b05624f80d6ULL,
	0x39f1d261621d368cULL, 0x282b48a89c46e978ULL, 0x9180b08df8d0a448ULL,
	0x6e1c5458024b3ba2ULL, 0xd3ea0dff37f77a38ULL, 0x21e953292fb2cdb0ULL,
	0x7a4dbaed33101870ULL, 0x332589d0db25649eULL, 0x0df58f8ce0fd3dd0ULL,
	0x3b4cdd580524ab5aULL, 0x81958a8e6876c658ULL, 0x44f0f5e22c8bd548ULL,
	0x87b102affd2dca6eULL, 0x8605fd87fea34328ULL, 0x03f45806ac9b8c2eULL,
	0x917b6fcee7911038ULL, 0xbb2cdbe5309ee7feULL, 0xec75c09b81cc341cULL,
	0x72500236f169669cULL, 0x42905277b883e726ULL, 0x6b843dabcb775f4eULL,
	0xde4de200a5e9fac0ULL, 0xb5234fd22e9275beULL, 0x87e5d16f8939f6baULL,
	0x5eb81f323b333118ULL, 0xaddbbbae1c6e53a4ULL, 0xf0831a4c8c789c00ULL,
	0x26c56eec98381ab8ULL, 0xae0711c2eba9048cULL, 0x2b72e9a55d0cf902ULL,
	0x740a2927b0294b94ULL, 0x83744fe144bacf56ULL, 0x0716a963dc740d5eULL,
	0xe4594d84ed78aaf0ULL, 0x2e86acab2729c4c4ULL, 0x4463fb304d73ca76ULL,
	0x4c56d62c34c737caULL, 0x08f361dd27279a9cULL, 0x1af4f808b4cc4baeULL,
	0x35e44806ea606bbcULL, 0xe5170e440bd24a08ULL, 0xe7adf391b376b4c0ULL,
	0xf88f0e144a1d022aULL, 0x93ade5149df1f990ULL, 0x0fd3f4c0c88f09b0ULL,
	0xa65235ec6f131bf6ULL, 0x4da9e561f28b6d46ULL, 0xb7a3a07369a418ccULL,
	0x4f4521fefcefb38cULL, 0xecba55f128f571baULL, 0xb953ce79d0b09b7aULL,
	0x4910b6a67f026a0eULL, 0xe5a75a2e34fc0f1aULL, 0x071d7eb4a1ce4b4cULL,
	0x31f4bc0f6dd63850ULL, 0x8660ccdf0249bd74ULL, 0xdb0b12fc014279aeULL,
	0x620b33aeb0415f02ULL, 0x3fcff974a4899c0aULL, 0xf26e5a8a6e82f6c2ULL,
	0xabab5f5e69e21336ULL, 0x107b2360a340f6b6ULL, 0xeed8f60428db0438ULL,
	0xc34b8b7b7b0cd11eULL, 0x121af420a5cc94fcULL, 0x8362747101403696ULL,
	0xc641897fd2c1cc48ULL, 0x8d60e54b2603c1dcULL, 0x4b84a27063e3a534ULL,
	0x51530b5e1c5470f0ULL, 0xcc74d130f84445ceULL, 0x0d4a2ca4b7c92318ULL,
	0x4a19e70d9a375b6eULL, 0xb10084c250eafd68ULL, 0x43375921e20fcd9eULL,
	0x78680bee14dc0626ULL, 0xedfe06eb502808dcULL, 0x0967848f5a8fd252ULL,
	0x03599b9bdb82c80cULL, 0x2e1ab3c7a69df51eULL, 0x7db90b427fa24c4aULL,
	0x10dfa804a2b70e9aULL, 0x10755a0d6261ba1cULL, 0x6dba83119660cdeaULL,
	0x43608f9d742a7120ULL, 0x002ec0863a56c55aULL, 0x7137828db14ed234ULL,
	0xbbe1a86d5ec34482ULL, 0x4cbc2b5b9c8c8bdaULL, 0x060db82207b6b2ecULL,
	0xc60fa9b11b8f85f0ULL, 0xce0de1c5802c51caULL, 0xa0a44b51141ebe52ULL,
	0x83b40ae0f2293c9aULL, 0xd586962264bf5276ULL, 0x2723c85a36c233bcULL,
	0xa066af2aaa445ca0ULL, 0xc94bf5eaf41d661eULL, 0x7b4fb08b1b51c83cULL,
	0x3b2cabc0f431e1e2ULL, 0x74e85a7e0f1da0e4ULL, 0x9923d7251dd90c18ULL,
	0x95942911f3a98f1eULL, 0x48748415e98d30b2ULL, 0x26d8015bdf9419eaULL,
	0xbdc3019647ebe2ccULL, 0xa134cc5be02c4f10ULL, 0xb9485742b817fbb4ULL,
	0x636a4a623f3f9a3cULL, 0x70af3ef27cc5774aULL, 0xaf8048082a5ac77cULL,
	0x9cf96f4ca824393aULL, 0x649bd206c3568c80ULL, 0x23875c53c37cd798ULL,
	0x9a4de295a540207cULL, 0x922999df806bb396ULL, 0x1e511703ace235daULL,
	0x5e80f726e93b320cULL,
};
/* clang-format on */

/*
 * Mask bits live in bits MASK_LO..MASK_HI.  Bit k of the fingerprint
 * depends on the last k + 1 bytes only, so the highest mask bit sets the
 * window: 63 bytes.  Bit 63 is left out so that the paper's two-byte form,
 * which tests (fp << 1) & (mask << 1), would lose nothing either.
 */
#define MASK_HI 62
#define MASK_LO 20

/* The scan loop asks for data this far ahead (see chunker_scan()). */
#define PREFETCH_AHEAD 1024

#ifdef __GNUC__
#define PREFETCH(a) __builtin_prefetch(a)
#define OPAQUE(x)   __asm__("" : "+r"(x))
#else
#define PREFETCH(a) ((void)0)
#define OPAQUE(x)   ((void)0)
#endif

/* A block of zeros to compare zero runs against. */
static const uint8_t zeros[4096];

/*
 * A mask with nbits one bits spread evenly over MASK_HI..MASK_LO, both ends
 * included: bit MASK_HI - j * (MASK_HI - MASK_LO) / (nbits - 1) for each j
 * in 0..nbits-1.  A cut then has the chance 2^-nbits at each byte.  nbits
 * is 5..25 for the sizes chunker_init() accepts, so the bits are distinct.
 */
static uint64_t
chunker_mask(unsigned int nbits)
{
	uint64_t m = 0;
	unsigned int j, bit;

	for (j = 0; j < nbits; j++) {
		bit = MASK_HI - j * (MASK_HI - MASK_LO) / (nbits - 1);
		m |= UINT64_C(1) << bit;
	}
	return m;
}

/*
 * Scan offsets [i, end), i <= end, with one mask, carrying the fingerprint
 * in *fpp.  Returns the chunk length (offset of the cut + 1), or 0 when
 * there is no cut in the range.
 *
 * Two bytes per step, exactly equal to one byte at a time.  The
 * fingerprint after the first byte, f1, is tested but not kept; the one
 * after the second is fp * 4 + s, with s = gear_ls[a] + gear[b] free of
 * fp.  So the chain carried from step to step is one shift and one add,
 * where the paper's form ((fp << 2) + gear_ls[a], test, + gear[b]) has two
 * adds: about 4 GB/s instead of 3 on random data.  OPAQUE() keeps the
 * compiler (clang) from rewriting s back into two adds on fp.  The prefetch
 * hint, one per 64 bytes, is for input that comes from memory, not cache.
 */
static size_t
chunker_scan(
        const uint8_t *p, size_t i, size_t end, uint64_t mask, uint64_t *fpp)
{
	uint64_t fp = *fpp, f1, s;
	size_t stop;

	/* One step: bytes i + k and i + k + 1; returns on a cut. */
#define SCAN_STEP(k)                                                           \
	do {                                                                   \
		s = gear_ls[p[i + (k)]] + gear[p[i + (k) + 1]];                \
		OPAQUE(s);                                                     \
		f1 = (fp << 1) + gear[p[i + (k)]];                             \
		fp = (fp << 2) + s;                                            \
		if (!(f1 & mask))                                              \
			return i + (k) + 1;                                    \
		if (!(fp & mask))                                              \
			return i + (k) + 2;                                    \
	} while (0)

	while (end - i >= 64) {
		if (end - i > PREFETCH_AHEAD)
			PREFETCH(p + i + PREFETCH_AHEAD);
		for (stop = i + 64; i < stop; i += 8) {
			SCAN_STEP(0);
			SCAN_STEP(2);
			SCAN_STEP(4);
			SCAN_STEP(6);
		}
	}
	for (; end - i >= 2; i += 2)
		SCAN_STEP(0);
#undef SCAN_STEP
	if (i < end) {
		fp = (fp << 1) + gear[p[i]];
		if (!(fp & mask))
			return i + 1;
	}
	*fpp = fp;
	return 0;
}

/*
 * The chunking rule itself, without the zero-run shortcut.  The decision
 * at offset i reads bytes min..i only, and the mask switch stays at avg
 * even when less data is given (FastCDC moves it to the end of short
 * input; that changes nothing, as every offset before the end is below avg
 * either way).  So a cut found in len bytes is the cut that more data would
 * give: len decides whether an answer is possible yet (0: need more),
 * never what the answer is.  At eof the rest is one chunk.
 */
static size_t
chunker_cut(const struct chunker *c, const uint8_t *p, size_t len, int eof)
{
	size_t n, mid, cut;
	uint64_t fp = 0;

	n = len < c->max ? len : c->max;
	if (n > c->min) {
		mid = n < c->avg ? n : c->avg;
		if ((cut = chunker_scan(p, c->min, mid, c->mask_s, &fp)) != 0)
			return cut;
		if ((cut = chunker_scan(p, mid, n, c->mask_l, &fp)) != 0)
			return cut;
	}
	if (n == c->max)
		return n;
	return eof ? len : 0;
}

/*
 * Whether p[0..n) is all zeros, for n >= 16.  Most chunks are not: the
 * first and last words settle those before the full scan.
 */
static int
chunker_allzero(const uint8_t *p, size_t n)
{
	uint64_t a, b, d;

	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	memcpy(&d, p + n - 8, 8);
	if ((a | b | d) != 0)
		return 0;
	while (n > sizeof(zeros)) {
		if (memcmp(p, zeros, sizeof(zeros)) != 0)
			return 0;
		p += sizeof(zeros);
		n -= sizeof(zeros);
	}
	return memcmp(p, zeros, n) == 0;
}

int
chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max,
        char *why, size_t whylen)
{
	uint8_t *z;
	unsigned int bits;
	int rc;

	if (min < CHUNKER_MIN_LIMIT || max > CHUNKER_MAX_LIMIT)
		return bl_why(why, whylen, BL_EUSAGE,
		        "chunk sizes must lie in %u..%u (min %u, max %u)",
		        CHUNKER_MIN_LIMIT, CHUNKER_MAX_LIMIT, min, max);
	if (!(min < avg && avg < max))
		return bl_why(why, whylen, BL_EUSAGE,
		        "chunk sizes need min < avg < max (%u, %u, %u)", min,
		        avg, max);
	if ((avg & (avg - 1)) != 0)
		return bl_why(why, whylen, BL_EUSAGE,
		        "average chunk size %u is not a power of two", avg);

	for (bits = 0; (UINT32_C(1) << bits) < avg; bits++)
		;
	memset(c, 0, sizeof(*c));
	c->min = min;
	c->avg = avg;
	c->max = max;
	c->mask_s = chunker_mask(bits + 2);
	c->mask_l = chunker_mask(bits - 2);

	/* The zero-run chunk is whatever the normal rule cuts from zeros. */
	if ((z = calloc(1, max)) == NULL)
		return bl_why(why, whylen, -ENOMEM,
		        "no memory for %u zero bytes", max);
	c->zero_len = (uint32_t)chunker_cut(c, z, max, 1);
	rc = hash_sha256(z, c->zero_len, c->zero_id);
	free(z);
	if (rc != 0)
		return bl_why(why, whylen, rc, "cannot hash the zero chunk");
	return 0;
}

size_t
chunker_next(const struct chunker *c, const uint8_t *p, size_t len, int eof,
        int *is_zero)
{
	/*
	 * The shortcut returns what chunker_cut() would: the decisions up
	 * to offset zero_len - 1 see only zeros, as they did at init.
	 */
	if (len >= c->zero_len && chunker_allzero(p, c->zero_len)) {
		if (is_zero != NULL)
			*is_zero = 1;
		return c->zero_len;
	}
	if (is_zero != NULL)
		*is_zero = 0;
	return chunker_cut(c, p, len, eof);
}
