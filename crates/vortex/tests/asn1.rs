//! Tests of the ASN.1 module (`tabella_vortex::asn1`, docs/VORTEX.md §2 and §9 "Messages"):
//! property round trips, negative inputs (truncation, bit flips, random bytes, non-canonical and
//! out-of-range encodings) and golden vectors written by hand from the DER rules.

use std::fmt::Debug;
use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString};
use der::{Decode, Encode};
use proptest::prelude::*;
use tabella_vortex::asn1::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn os(bytes: &[u8]) -> OctetString {
    OctetString::new(bytes.to_vec()).unwrap()
}

fn ia5(s: &str) -> Ia5String {
    Ia5String::new(s).unwrap()
}

/// encode → decode gives the same value, and the decoded value re-encodes to the same bytes.
fn check_round_trip<T>(value: &T) -> Result<Vec<u8>, TestCaseError>
where
    T: for<'a> Decode<'a, Error = der::Error> + Encode + Validate + PartialEq + Debug,
{
    let bytes = encode(value).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
    let back: T = decode(&bytes).map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&back, value);
    let again = encode(&back).map_err(|e| TestCaseError::fail(format!("re-encode: {e}")))?;
    prop_assert_eq!(&again, &bytes);
    Ok(bytes)
}

/// Every proper prefix of a valid encoding is rejected.
fn check_truncations<T>(bytes: &[u8])
where
    T: for<'a> Decode<'a, Error = der::Error> + Encode + Validate + Debug,
{
    for cut in 0..bytes.len() {
        assert!(
            decode::<T>(&bytes[..cut]).is_err(),
            "prefix of {cut}/{} bytes decoded",
            bytes.len()
        );
    }
}

/// Flipping any one bit gives an error or a value that validates and is canonical.
fn check_bit_flips<T>(bytes: &[u8]) -> usize
where
    T: for<'a> Decode<'a, Error = der::Error> + Encode + Validate + Debug,
{
    let mut accepted = 0;
    for i in 0..bytes.len() * 8 {
        let mut flipped = bytes.to_vec();
        flipped[i / 8] ^= 1 << (i % 8);
        if let Ok(v) = decode::<T>(&flipped) {
            v.validate().unwrap();
            assert_eq!(
                v.to_der().unwrap(),
                flipped,
                "accepted a non-canonical flip"
            );
            accepted += 1;
        }
    }
    accepted
}

fn kind<T: Debug>(r: Result<T, DecodeError>) -> DecodeErrorKind {
    r.expect_err("expected an error").kind
}

// ---------------------------------------------------------------------------------------------
// Strategies (bounded so that the whole file runs in a few seconds)

fn octets(max: usize) -> impl Strategy<Value = OctetString> {
    prop::collection::vec(any::<u8>(), 0..=max).prop_map(|v| OctetString::new(v).unwrap())
}

fn secret(min: usize, max: usize) -> impl Strategy<Value = SecretOctets> {
    prop::collection::vec(any::<u8>(), min..=max).prop_map(SecretOctets::new)
}

fn ia5_string() -> impl Strategy<Value = Ia5String> {
    "[a-z0-9@.:]{0,16}".prop_map(|s| Ia5String::new(&s).unwrap())
}

fn sym_alg() -> impl Strategy<Value = SymmetricAlgorithm> {
    use SymmetricAlgorithm::*;
    prop::sample::select(vec![
        Aes128,
        Aes192,
        Aes256,
        Camellia128,
        Camellia192,
        Camellia256,
        Twofish128,
        Twofish192,
        Twofish256,
    ])
}

fn asym_alg() -> impl Strategy<Value = AsymmetricAlgorithm> {
    use AsymmetricAlgorithm::*;
    prop::sample::select(vec![Rsa, Dsa, Ec, Ntru])
}

fn curve() -> impl Strategy<Value = EcCurveType> {
    use EcCurveType::*;
    prop::sample::select(vec![Secp384r1, Sect409k1, Secp521r1])
}

fn mode() -> impl Strategy<Value = CipherMode> {
    use CipherMode::*;
    prop::sample::select(vec![Cbc, Ctr, Ccm, Gcm, Ocb, Ofb, Xts, None])
}

fn padding() -> impl Strategy<Value = CipherPadding> {
    use CipherPadding::*;
    prop::sample::select(vec![None, Pkcs1, RsaesOaep, OaepSha256Mgf1, Ap, Pkcs7])
}

fn mac_alg() -> impl Strategy<Value = MacAlgorithm> {
    use MacAlgorithm::*;
    prop::sample::select(vec![
        Sha3_256, Sha3_384, Sha3_512, Ripemd160, Ripemd256, Ripemd320,
    ])
}

fn prng_type() -> impl Strategy<Value = PrngType> {
    prop::sample::select(vec![PrngType::Mrg32k3a, PrngType::BlumMicali])
}

fn status_code() -> impl Strategy<Value = StatusCode> {
    use StatusCode::*;
    prop::sample::select(vec![
        Ok,
        QuotaStatus,
        PuzzleRequired,
        TransferQuotaExceeded,
        MessageQuotaExceeded,
        RequestedQuotaOutOfBand,
        IdentityUnknown,
        MessageChunkMissing,
        MessageLifeExpired,
        PuzzleUnknown,
        MacAlgorithmUnknown,
        SymmetricAlgorithmUnknown,
        AsymmetricAlgorithmUnknown,
        PrngAlgorithmUnknown,
        MissingParameters,
        BadParameters,
        HostError,
    ])
}

prop_compose! {
    fn alg_parameters()(
        key_size in prop::option::of(0u32..=65_535),
        curve_type in prop::option::of(curve()),
        iv in prop::option::of(octets(16)),
        nonce in prop::option::of(octets(12)),
        mode in prop::option::of(mode()),
        padding in prop::option::of(padding()),
        npq in prop::option::of((any::<i64>(), any::<i64>(), any::<i64>())),
        k in prop::option::of(any::<i64>()),
        t in prop::option::of(-5i64..5),
    ) -> AlgParameters {
        AlgParameters {
            key_size, curve_type, iv, nonce, mode, padding,
            n: npq.map(|x| x.0), p: npq.map(|x| x.1), q: npq.map(|x| x.2), k, t,
        }
    }
}

prop_compose! {
    fn symmetric_key()(key_type in sym_alg(), parameter in alg_parameters(), key in secret(16, 40))
        -> SymmetricKey {
        SymmetricKey { key_type, parameter, key }
    }
}

prop_compose! {
    fn asymmetric_key()(
        key_type in asym_alg(),
        public_key in octets(40),
        private_key in prop::option::of(secret(0, 40)),
    ) -> AsymmetricKey {
        AsymmetricKey { key_type, public_key, private_key }
    }
}

prop_compose! {
    fn mac_spec()(algorithm in mac_alg(), parameter in alg_parameters()) -> MacAlgorithmSpec {
        MacAlgorithmSpec { algorithm, parameter }
    }
}

fn generalized_time() -> impl Strategy<Value = GeneralizedTime> {
    (0u64..=253_402_300_799)
        .prop_map(|s| GeneralizedTime::from_unix_duration(Duration::from_secs(s)).unwrap())
}

fn usage_period() -> impl Strategy<Value = UsagePeriod> {
    prop_oneof![
        (
            prop::option::of(generalized_time()),
            prop::option::of(generalized_time())
        )
            .prop_map(|(not_before, not_after)| UsagePeriod::Absolute(
                AbsoluteUsagePeriod {
                    not_before,
                    not_after
                }
            )),
        (
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>())
        )
            .prop_map(|(not_before, not_after)| UsagePeriod::Relative(
                RelativeUsagePeriod {
                    not_before,
                    not_after
                }
            )),
    ]
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop::sample::select(vec![Protocol::Smtp, Protocol::Xmmp])
}

prop_compose! {
    fn node_spec()(
        transport_protocol in protocol(),
        recipient_address in ia5_string(),
        recipient_key in prop::option::of(asymmetric_key()),
    ) -> NodeSpec {
        NodeSpec { transport_protocol, recipient_address, recipient_key }
    }
}

fn blending_parameter() -> impl Strategy<Value = BlendingParameter> {
    prop_oneof![
        any::<i64>().prop_map(BlendingParameter::Offset),
        symmetric_key().prop_map(BlendingParameter::SymmetricKey),
        asymmetric_key().prop_map(BlendingParameter::AsymmetricKey),
        secret(0, 16).prop_map(BlendingParameter::Passphrase),
    ]
}

prop_compose! {
    fn blending_spec()(
        target in node_spec(),
        blending_type in ia5_string(),
        parameter in prop::collection::vec(blending_parameter(), 0..3),
    ) -> BlendingSpec {
        BlendingSpec { target, blending_type, parameter }
    }
}

fn source_id() -> impl Strategy<Value = u32> {
    0u32..=65_535
}

fn target_id() -> impl Strategy<Value = u32> {
    1u32..=65_535
}

prop_compose! {
    fn map_op()(original_id in source_id(), new_id in target_id()) -> MapBlockOperation {
        MapBlockOperation { original_id, new_id }
    }
}

fn size_block() -> impl Strategy<Value = SizeBlock> {
    prop_oneof![
        (0u32..=100, 0u32..=100).prop_map(|(from_percent, to_percent)| SizeBlock {
            size: Size::Percent(PercentSizeBlock {
                from_percent,
                to_percent
            })
        }),
        (any::<u32>(), -4_294_967_295i64..=4_294_967_295).prop_map(
            |(from_absolute, to_absolute)| SizeBlock {
                size: Size::Absolute(AbsoluteSizeBlock {
                    from_absolute,
                    to_absolute
                })
            }
        ),
    ]
}

type RedundancyParts = (u32, u32, u32, Vec<SymmetricKey>, u32, u32);

fn redundancy_parts() -> impl Strategy<Value = RedundancyParts> {
    (
        source_id(),
        1u32..=254,
        1u32..=254,
        prop::collection::vec(symmetric_key(), 2..4),
        target_id(),
        2u32..=16,
    )
}

fn payload_operation() -> impl Strategy<Value = PayloadOperation> {
    prop_oneof![
        (source_id(), size_block(), target_id(), target_id()).prop_map(|(a, s, b, c)| {
            PayloadOperation::Split(SplitPayloadOperation {
                original_id: a,
                first_size: s,
                new_first_id: b,
                new_second_id: c,
            })
        }),
        (source_id(), source_id(), target_id()).prop_map(|(a, b, c)| {
            PayloadOperation::Merge(MergePayloadOperation {
                original_first_id: a,
                original_second_id: b,
                new_id: c,
            })
        }),
        (source_id(), symmetric_key(), target_id()).prop_map(|(a, key, b)| {
            PayloadOperation::Encrypt(EncryptPayloadOperation {
                original_id: a,
                key,
                new_id: b,
            })
        }),
        (source_id(), symmetric_key(), target_id()).prop_map(|(a, key, b)| {
            PayloadOperation::Decrypt(DecryptPayloadOperation {
                original_id: a,
                key,
                new_id: b,
            })
        }),
        redundancy_parts().prop_map(|(i, d, r, keys, o, g)| {
            PayloadOperation::AddRedundancy(AddRedundancyOperation {
                input_id: i,
                data_stripes: d,
                redundancy: r,
                keys,
                output_id: o,
                gf_size: g,
            })
        }),
        redundancy_parts().prop_map(|(i, d, r, keys, o, g)| {
            PayloadOperation::RemoveRedundancy(RemoveRedundancyOperation {
                input_id: i,
                data_stripes: d,
                redundancy: r,
                keys,
                output_id: o,
                gf_size: g,
            })
        }),
        map_op().prop_map(PayloadOperation::Map),
    ]
}

prop_compose! {
    fn routing_combo()(
        times in (0u32..=86_400, 0u32..=86_400),
        peer_key in prop::option::of(prop::collection::vec(symmetric_key(), 1..3)),
        recipient in blending_spec(),
        m_prefix in prop::option::of(prop::collection::vec(octets(24), 1..3)),
        c_prefix in prop::option::of(octets(24)),
        header in prop::option::of(octets(24)),
        routing in prop::option::of(octets(24)),
        assembly in prop::collection::vec(payload_operation(), 0..4),
        validity in prop::option::of(usage_period()),
    ) -> RoutingCombo {
        RoutingCombo {
            min_process_time: times.0,
            max_process_time: times.1,
            peer_key, recipient, m_prefix, c_prefix, header, routing, assembly, validity,
        }
    }
}

prop_compose! {
    fn reply_block()(murb in routing_combo(), max_replay in any::<i64>(), validity in usage_period())
        -> ReplyBlock {
        ReplyBlock { murb, max_replay, validity }
    }
}

prop_compose! {
    fn routing_block()(
        routing in prop::collection::vec(routing_combo(), 0..3),
        mappings in prop::collection::vec(map_op(), 0..5),
        reply_block in prop::option::of(reply_block()),
    ) -> RoutingBlock {
        RoutingBlock { routing, mappings, reply_block }
    }
}

fn header_request() -> impl Strategy<Value = HeaderRequest> {
    prop_oneof![
        usage_period().prop_map(|period| HeaderRequest::Identity(HeaderRequestIdentity { period })),
        usage_period()
            .prop_map(|period| HeaderRequest::Capabilities(HeaderRequestCapability { period })),
        any::<u32>().prop_map(|messages| HeaderRequest::MessageQuota(
            HeaderRequestIncreaseMessageQuota { messages }
        )),
        any::<u32>().prop_map(|size| HeaderRequest::TransferQuota(
            HeaderRequestIncreaseTransferQuota { size }
        )),
        Just(HeaderRequest::QuotaQuery(HeaderRequestQuota {})),
        (0u32..=255).prop_map(
            |number_of_nodes| HeaderRequest::NodeQuery(HeaderRequestNodes { number_of_nodes })
        ),
        (node_spec(), prop::option::of(node_spec()), octets(16)).prop_map(
            |(old, new, identity_signature)| HeaderRequest::Replace(HeaderRequestReplaceIdentity {
                replace: IdentityReplacement { old, new },
                identity_signature,
            })
        ),
    ]
}

prop_compose! {
    fn header_block()(
        identity_key in asymmetric_key(),
        serial in any::<u32>(),
        max_replays in 0u32..=127,
        valid in usage_period(),
        sign_algorithm in mac_spec(),
        requests in prop::collection::vec(header_request(), 0..=8),
        request_reply_block in prop::option::of(routing_combo()),
        identifier in prop::option::of(octets(32)),
        proof_of_work in prop::option::of(octets(16)),
    ) -> HeaderBlock {
        HeaderBlock {
            identity_key, serial, max_replays, valid, sign_algorithm, requests,
            request_reply_block, identifier, proof_of_work,
        }
    }
}

prop_compose! {
    fn prefix_block()(version in prop::option::of(any::<i64>()), key in symmetric_key())
        -> PrefixBlock {
        PrefixBlock { version, key }
    }
}

prop_compose! {
    fn inner_message_block()(
        padding in octets(16),
        prefix in prop_oneof![
            prefix_block().prop_map(InnerPrefix::Plain),
            octets(32).prop_map(InnerPrefix::Encrypted),
        ],
        header in prop_oneof![
            header_block().prop_map(InnerHeader::Plain),
            octets(32).prop_map(InnerHeader::Encrypted),
        ],
        identity_signature in octets(16),
        routing in prop_oneof![
            routing_block().prop_map(InnerRouting::Plain),
            octets(32).prop_map(InnerRouting::Encrypted),
        ],
        payload in prop::collection::vec(octets(32), 0..4),
    ) -> InnerMessageBlock {
        InnerMessageBlock { padding, prefix, header, identity_signature, routing, payload }
    }
}

fn vortex_message() -> impl Strategy<Value = VortexMessage> {
    (
        prop_oneof![
            prefix_block().prop_map(MessagePrefix::Plain),
            octets(32).prop_map(MessagePrefix::Encrypted),
        ],
        prop_oneof![
            inner_message_block().prop_map(MessageInner::Plain),
            octets(32).prop_map(MessageInner::Encrypted),
        ],
    )
        .prop_map(|(prefix, inner_message)| VortexMessage {
            prefix,
            inner_message,
        })
}

prop_compose! {
    fn sym_alg_spec()(
        algorithm in sym_alg(),
        padding in prop::option::of(padding()),
        mode in prop::option::of(mode()),
        parameter in prop::option::of(alg_parameters()),
    ) -> SymAlgSpec {
        SymAlgSpec { algorithm, padding, mode, parameter }
    }
}

prop_compose! {
    fn asym_alg_spec()(
        algorithm in asym_alg(),
        padding in prop::option::of(padding()),
        parameter in prop::option::of(alg_parameters()),
    ) -> AsymAlgSpec {
        AsymAlgSpec { algorithm, padding, parameter }
    }
}

prop_compose! {
    fn cipher_spec()(
        asymmetric in prop::option::of(asym_alg_spec()),
        symmetric in prop::option::of(sym_alg_spec()),
        mac in prop::option::of(mac_spec()),
        sign in any::<bool>(),
    ) -> CipherSpec {
        let cipher_usage = if sign { CipherUsage::Sign } else { CipherUsage::Encrypt };
        CipherSpec { asymmetric, symmetric, mac, cipher_usage }
    }
}

fn bit_string() -> impl Strategy<Value = BitString> {
    (prop::collection::vec(any::<u8>(), 0..6), 0u8..8).prop_map(|(mut bytes, unused)| {
        let unused = if bytes.is_empty() { 0 } else { unused };
        if let Some(last) = bytes.last_mut() {
            *last &= 0xffu8 << unused;
        }
        BitString::new(unused, bytes).unwrap()
    })
}

fn real() -> impl Strategy<Value = Real> {
    prop_oneof![
        any::<f64>(),
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NAN),
        Just(f64::MIN_POSITIVE / 8.0),
    ]
    .prop_map(Real::from_f64)
}

fn requirement_block() -> impl Strategy<Value = RequirementBlock> {
    prop_oneof![
        (bit_string(), mac_spec(), usage_period(), any::<u32>()).prop_map(
            |(challenge, mac, valid, identifier)| {
                RequirementBlock::Puzzle(RequirementPuzzleRequired {
                    challenge,
                    mac,
                    valid,
                    identifier,
                })
            }
        ),
        (
            octets(20),
            real(),
            prop::sample::select(vec![Currency::Btc, Currency::Eth, Currency::Zec])
        )
            .prop_map(|(account, ammount, currency)| {
                RequirementBlock::Payment(RequirementPaymentRequired {
                    account,
                    ammount,
                    currency,
                })
            }),
    ]
}

prop_compose! {
    fn reply_capability()(
        cipher in prop::collection::vec(cipher_spec(), 2..4),
        mac in prop::collection::vec(mac_alg(), 2..5),
        prng in prop::collection::vec(prng_type(), 2..4),
        quotas in prop::array::uniform7(any::<u32>()),
        max_replay in 0u32..=127,
        supported_blending_in in prop::collection::vec(blending_spec(), 0..2),
        supported_blending_out in prop::collection::vec(blending_spec(), 0..2),
        supported_gf_size in prop::collection::vec(1u32..=16, 0..3),
    ) -> ReplyCapability {
        let [a, b, c, d, e, f, g] = quotas;
        ReplyCapability {
            cipher, mac, prng,
            max_transfer_quota: a, max_message_quota: b, max_header_serials: c,
            max_build_ops: d, max_payload_size: e, max_active_payloads: f, max_header_live: g,
            max_replay, supported_blending_in, supported_blending_out, supported_gf_size,
        }
    }
}

fn special_block() -> impl Strategy<Value = SpecialBlock> {
    prop_oneof![
        reply_capability().prop_map(SpecialBlock::Capabilities),
        prop::collection::vec(requirement_block(), 1..3).prop_map(SpecialBlock::Requirement),
        (any::<u32>(), any::<u32>())
            .prop_map(|(messages, size)| SpecialBlock::Quota(ReplyCurrentQuota { messages, size })),
        prop::collection::vec(node_spec(), 1..=5)
            .prop_map(|node| SpecialBlock::Nodes(ReplyNodes { node })),
        status_code().prop_map(|code| SpecialBlock::Status(StatusBlock { code })),
    ]
}

prop_compose! {
    fn identity_store_block()(
        valid in usage_period(),
        message_quota in any::<u32>(),
        transfer_quota in any::<u32>(),
        identity in prop::option::of(asymmetric_key()),
        node_address in prop::option::of(node_spec()),
        node_key in prop::option::of(prop::collection::vec(asymmetric_key(), 0..2)),
        routing_blocks in prop::option::of(prop::collection::vec(routing_block(), 0..2)),
        replays in prop::collection::vec(
            (asymmetric_key(), usage_period(), any::<u32>()).prop_map(
                |(identity, valid, replays_remaining)| IdentityReplayBlock {
                    identity, valid, replays_remaining,
                }),
            0..3),
        requirement in prop::option::of(requirement_block()),
    ) -> IdentityStoreBlock {
        IdentityStoreBlock {
            valid, message_quota, transfer_quota, identity, node_address, node_key,
            routing_blocks, replay_store: IdentityReplayStore { replays }, requirement,
        }
    }
}

prop_compose! {
    fn identity_store()(identities in prop::collection::vec(identity_store_block(), 0..3))
        -> IdentityStore {
        IdentityStore { identities }
    }
}

prop_compose! {
    fn memory_payload_chunk()(id in source_id(), payload in octets(40), validity in usage_period())
        -> MemoryPayloadChunk {
        MemoryPayloadChunk { id, payload, validity }
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_prefix_block(v in prefix_block()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_symmetric_key_and_parameters(k in symmetric_key(), p in alg_parameters()) {
        check_round_trip(&k)?;
        check_round_trip(&p)?;
    }

    #[test]
    fn round_trip_asymmetric_key(v in asymmetric_key()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_header_block(v in header_block()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_routing_combo(v in routing_combo()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_routing_block(v in routing_block()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_payload_operation(v in payload_operation()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_usage_period(v in usage_period()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_special_block(v in special_block()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_requirement_block(v in requirement_block()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_cipher_spec(v in cipher_spec()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_memory_payload_chunk(v in memory_payload_chunk()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn real_round_trips_through_f64(x in any::<f64>()) {
        let r = Real::from_f64(x);
        r.validate().unwrap();
        let back = r.to_f64().unwrap();
        prop_assert!(back == x || (back.is_nan() && x.is_nan()));
        prop_assert_eq!(back.is_sign_negative(), x.is_sign_negative());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_inner_message_block(v in inner_message_block()) {
        let bytes = check_round_trip(&v)?;
        // Truncation at every offset: always an error, never a panic.
        if bytes.len() <= 4096 {
            check_truncations::<InnerMessageBlock>(&bytes);
        }
    }

    #[test]
    fn round_trip_vortex_message(v in vortex_message()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn round_trip_identity_store(v in identity_store()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn truncated_routing_blocks_and_headers_fail(r in routing_block(), h in header_block()) {
        let bytes = encode(&r).unwrap();
        check_truncations::<RoutingBlock>(&bytes);
        let bytes = encode(&h).unwrap();
        check_truncations::<HeaderBlock>(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// Random bytes never panic

fn decode_everything(bytes: &[u8]) {
    let _ = decode::<VortexMessage>(bytes);
    let _ = decode::<PrefixBlock>(bytes);
    let _ = decode::<InnerMessageBlock>(bytes);
    let _ = decode::<HeaderBlock>(bytes);
    let _ = decode::<RoutingBlock>(bytes);
    let _ = decode::<RoutingCombo>(bytes);
    let _ = decode::<PayloadOperation>(bytes);
    let _ = decode::<SymmetricKey>(bytes);
    let _ = decode::<AsymmetricKey>(bytes);
    let _ = decode::<AlgParameters>(bytes);
    let _ = decode::<SpecialBlock>(bytes);
    let _ = decode::<RequirementBlock>(bytes);
    let _ = decode::<UsagePeriod>(bytes);
    let _ = decode::<IdentityStore>(bytes);
    let _ = decode::<MemoryPayloadChunk>(bytes);
    let _ = decode::<HeaderRequest>(bytes);
    let _ = decode::<CipherSpec>(bytes);
    let _ = decode::<Real>(bytes);
    let _ = decode::<CipherMode>(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        decode_everything(&bytes);
    }

    #[test]
    fn random_bytes_behind_a_plausible_header_never_panic(
        tag in prop::sample::select(vec![0x30u8, 0xa0, 0xa1, 0xa2, 0xa3, 0xbf, 0x0a, 0x09]),
        body in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut bytes = vec![tag, body.len().min(127) as u8];
        bytes.extend_from_slice(&body);
        decode_everything(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random mutations of valid encodings: never a panic, and whatever is accepted is canonical.
    #[test]
    fn mutated_encodings_never_panic(
        v in inner_message_block(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&v).unwrap();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(w) = decode::<InnerMessageBlock>(&bytes) {
            prop_assert_eq!(w.to_der().unwrap(), bytes);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Golden vectors (hand-written from the DER rules)

/// AES-256 key 00 01 .. 1f with parameters { mode [9004] gcm }.
fn golden_key() -> SymmetricKey {
    SymmetricKey {
        key_type: SymmetricAlgorithm::Aes256,
        parameter: AlgParameters {
            mode: Some(CipherMode::Gcm),
            ..AlgParameters::default()
        },
        key: SecretOctets::new((0u8..32).collect()),
    }
}

const KEY_32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// PrefixBlock { version [0] 1, key [2] golden_key() }.
fn golden_prefix_hex() -> String {
    [
        "30 39",                   // PrefixBlock, 57 bytes
        "a0 03 02 01 01",          // [0] INTEGER 1
        "a2 32",                   // [2], 50 bytes
        "30 30",                   // SymmetricKey, 48 bytes
        "0a 02 03 ea",             // ENUMERATED 1002 (aes256)
        "30 08",                   // AlgParameters, 8 bytes
        "bf c6 2c 04 0a 02 27 13", // [9004] ENUMERATED 10003 (gcm)
        "04 20",                   // OCTET STRING, 32 bytes
        KEY_32,
    ]
    .join(" ")
}

#[test]
fn golden_prefix_block() {
    let value = PrefixBlock {
        version: Some(1),
        key: golden_key(),
    };
    let golden = hex(&golden_prefix_hex());
    assert_eq!(golden.len(), 59);
    assert_eq!(encode(&value).unwrap(), golden);
    assert_eq!(decode::<PrefixBlock>(&golden).unwrap(), value);
}

#[test]
fn golden_inner_message_block_with_11011_prefix() {
    let prefix = PrefixBlock {
        version: Some(1),
        key: golden_key(),
    };
    // The [11011] alternative alone: BF D6 03, length 59, then the PrefixBlock.
    let alt = hex(&format!("bf d6 03 3b {}", golden_prefix_hex()));
    assert_eq!(
        InnerPrefix::Plain(prefix.clone()).to_der().unwrap(),
        alt,
        "[11011]"
    );

    let value = InnerMessageBlock {
        padding: os(&[]),
        prefix: InnerPrefix::Plain(prefix),
        header: InnerHeader::Encrypted(os(&[])),
        identity_signature: os(&[]),
        routing: InnerRouting::Encrypted(os(&[])),
        payload: vec![],
    };
    let golden = hex(&[
        "30 55",                                         // InnerMessageBlock, 85 bytes
        "04 00",                                         // padding
        &format!("bf d6 03 3b {}", golden_prefix_hex()), // prefix [11011]
        "bf d6 0e 02 04 00",                             // header [11022] OCTET STRING ''
        "04 00",                                         // identitySignature
        "bf d5 79 06 bf d6 18 02 04 00", // routing [11001] { [11032] OCTET STRING '' }
        "30 00",                         // payload
    ]
    .join(" "));
    assert_eq!(encode(&value).unwrap(), golden);
    assert_eq!(decode::<InnerMessageBlock>(&golden).unwrap(), value);
}

fn golden_routing_block() -> RoutingBlock {
    RoutingBlock {
        routing: vec![],
        mappings: vec![MapBlockOperation {
            original_id: 0,
            new_id: 1,
        }],
        reply_block: Some(ReplyBlock {
            murb: RoutingCombo {
                min_process_time: 0,
                max_process_time: 60,
                peer_key: None,
                recipient: BlendingSpec {
                    target: NodeSpec {
                        transport_protocol: Protocol::Smtp,
                        recipient_address: ia5("a@b"),
                        recipient_key: None,
                    },
                    blending_type: ia5("plain"),
                    parameter: vec![],
                },
                m_prefix: None,
                c_prefix: None,
                header: None,
                routing: None,
                assembly: vec![],
                validity: None,
            },
            max_replay: 0,
            validity: UsagePeriod::Relative(RelativeUsagePeriod {
                not_before: None,
                not_after: None,
            }),
        }),
    }
}

const GOLDEN_ROUTING_BLOCK: &str = "
    30 52
      bf 82 4b 02 30 00
      bf 82 4c 0a 30 08 30 06 02 01 00 02 01 01
      bf 82 4c 3a
        30 38
          30 2f
            02 01 00
            02 01 3c
            bf 83 12 1f
              30 1d
                a1 0e 30 0c a1 03 0a 01 64 a2 05 16 03 61 40 62
                a2 07 16 05 70 6c 61 69 6e
                a3 02 30 00
            bf 83 17 02 30 00
          02 01 00
          a3 02 30 00";

/// D-4: `mappings` and `replyBlock` both carry [332] (BF 82 4C); they decode by position.
#[test]
fn golden_routing_block_with_both_332_fields() {
    let value = golden_routing_block();
    let golden = hex(GOLDEN_ROUTING_BLOCK);
    assert_eq!(encode(&value).unwrap(), golden);
    let back = decode::<RoutingBlock>(&golden).unwrap();
    assert_eq!(back, value);
    // The two [332] fields are told apart by position only.
    let tag_332 = [0xbf, 0x82, 0x4c];
    let hits = golden.windows(3).filter(|w| *w == tag_332).count();
    assert_eq!(hits, 2);
}

#[test]
fn duplicate_332_without_reply_block_and_with_reply_in_place_of_mappings() {
    // Only the mandatory [332]: a RoutingBlock without reply block.
    let mut value = golden_routing_block();
    value.reply_block = None;
    let golden = hex("30 14 bf 82 4b 02 30 00 bf 82 4c 0a 30 08 30 06 02 01 00 02 01 01");
    assert_eq!(encode(&value).unwrap(), golden);
    assert_eq!(decode::<RoutingBlock>(&golden).unwrap(), value);

    // The reply block's [332] where the mappings' [332] must be: rejected (it is read as the
    // mappings, whose content it is not).
    let full = hex(GOLDEN_ROUTING_BLOCK);
    let mut without_mappings = vec![0x30, 0x52 - 14];
    without_mappings.extend_from_slice(&full[2..8]);
    without_mappings.extend_from_slice(&full[22..]);
    assert!(decode::<RoutingBlock>(&without_mappings).is_err());

    // A third [332] is trailing garbage inside the SEQUENCE.
    let mut three = full.clone();
    three.extend_from_slice(&hex("bf 82 4c 02 30 00"));
    three[1] += 6;
    assert!(decode::<RoutingBlock>(&three).is_err());
}

#[test]
fn golden_enumerated_values() {
    assert_eq!(encode(&CipherMode::Gcm).unwrap(), hex("0a 02 27 13"));
    assert_eq!(
        decode::<CipherMode>(&hex("0a 02 27 13")).unwrap(),
        CipherMode::Gcm
    );
    assert_eq!(encode(&PrngType::Mrg32k3a).unwrap(), hex("0a 02 28 3c"));
    assert_eq!(encode(&CipherPadding::Pkcs7).unwrap(), hex("0a 02 28 3d"));
    assert_eq!(encode(&CipherUsage::Sign).unwrap(), hex("0a 02 00 c8"));
    assert_eq!(encode(&Protocol::Smtp).unwrap(), hex("0a 01 64"));
    let status = SpecialBlock::Status(StatusBlock {
        code: StatusCode::Ok,
    });
    // [99] = BF 63 (99 > 30 needs the long form).
    assert_eq!(encode(&status).unwrap(), hex("bf 63 06 30 04 0a 02 07 d0"));
}

#[test]
fn golden_high_tags() {
    let op = PayloadOperation::Map(MapBlockOperation {
        original_id: 5,
        new_id: 32_768,
    });
    // [1001] = BF 87 69; 32768 needs three content octets (00 80 00).
    assert_eq!(
        encode(&op).unwrap(),
        hex("bf 87 69 0a 30 08 02 01 05 02 03 00 80 00")
    );
    let size = SizeBlock {
        size: Size::Absolute(AbsoluteSizeBlock {
            from_absolute: 0,
            to_absolute: -1,
        }),
    };
    // [15101] = BF F5 7D.
    assert_eq!(
        encode(&size).unwrap(),
        hex("30 0c bf f5 7d 08 30 06 02 01 00 02 01 ff")
    );
}

#[test]
fn golden_reals() {
    let cases: [(f64, &str); 7] = [
        (0.0, "09 00"),
        (1.0, "09 03 80 00 01"),
        (0.5, "09 03 80 ff 01"),
        (-3.0, "09 03 c0 00 03"),
        (1024.0, "09 03 80 0a 01"),
        (f64::INFINITY, "09 01 40"),
        (-0.0, "09 01 43"),
    ];
    for (x, h) in cases {
        let r = Real::from_f64(x);
        assert_eq!(r.to_der().unwrap(), hex(h), "{x}");
        assert_eq!(decode::<Real>(&hex(h)).unwrap().to_f64(), Some(x));
    }
    // Not DER: an even mantissa, a non-minimal exponent, base 8, a decimal form.
    for bad in [
        "09 03 80 00 02",
        "09 04 81 00 00 01",
        "09 03 90 00 01",
        "09 04 03 31 2e 45",
    ] {
        assert!(matches!(
            kind(decode::<Real>(&hex(bad))),
            DecodeErrorKind::Invalid { .. }
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Negative cases

#[test]
fn bit_flips_of_small_encodings() {
    let prefix = encode(&PrefixBlock {
        version: Some(1),
        key: golden_key(),
    })
    .unwrap();
    check_bit_flips::<PrefixBlock>(&prefix);
    check_bit_flips::<RoutingBlock>(&hex(GOLDEN_ROUTING_BLOCK));
    let op = encode(&PayloadOperation::Split(SplitPayloadOperation {
        original_id: 3,
        first_size: SizeBlock {
            size: Size::Percent(PercentSizeBlock {
                from_percent: 0,
                to_percent: 50,
            }),
        },
        new_first_id: 4,
        new_second_id: 5,
    }))
    .unwrap();
    // Flipping bits of the integers gives other valid operations; those must be canonical.
    assert!(check_bit_flips::<PayloadOperation>(&op) > 0);
}

#[test]
fn truncated_golden_vectors_fail() {
    check_truncations::<PrefixBlock>(&hex(&golden_prefix_hex()));
    check_truncations::<RoutingBlock>(&hex(GOLDEN_ROUTING_BLOCK));
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = hex(&golden_prefix_hex());
    bytes.push(0);
    assert_eq!(
        kind(decode::<PrefixBlock>(&bytes)),
        DecodeErrorKind::TrailingBytes {
            consumed: 59,
            total: 60
        }
    );
}

#[test]
fn non_canonical_encodings_are_rejected() {
    // Long-form length where the short form is required (outer SEQUENCE 30 81 39).
    let short = hex(&golden_prefix_hex());
    let mut long = vec![0x30, 0x81, 0x39];
    long.extend_from_slice(&short[2..]);
    assert!(decode::<PrefixBlock>(&long).is_err());

    // A non-minimal INTEGER (02 02 00 05 for 5).
    let ok = hex("30 06 02 01 05 02 01 01");
    assert!(decode::<MapBlockOperation>(&ok).is_ok());
    assert!(decode::<MapBlockOperation>(&hex("30 07 02 02 00 05 02 01 01")).is_err());
    // A negative number where only unsigned values fit.
    assert!(decode::<MapBlockOperation>(&hex("30 06 02 01 ff 02 01 01")).is_err());
    // Indefinite length (BER only).
    assert!(decode::<MapBlockOperation>(&hex("30 80 02 01 05 02 01 01 00 00")).is_err());
    // An explicit tag written primitive (9F instead of BF) for a CHOICE alternative.
    let enc = encode(&InnerPrefix::Encrypted(os(b"x"))).unwrap();
    assert_eq!(enc, hex("bf d6 04 03 04 01 78"));
    let mut primitive = enc.clone();
    primitive[0] = 0x9f;
    assert!(decode::<InnerPrefix>(&primitive).is_err());
    // A non-minimal high tag number (BF 80 D6 04: a leading 0x80 octet).
    assert!(decode::<InnerPrefix>(&hex("bf 80 d6 04 03 04 01 78")).is_err());
    // An empty OPTIONAL written out as absent is fine; a BOOLEAN-like junk field is not.
    assert!(decode::<AlgParameters>(&hex("30 03 01 01 ff")).is_err());
}

#[test]
fn unknown_enumerated_values_are_rejected() {
    assert!(decode::<CipherMode>(&hex("0a 02 27 17")).is_err()); // 10007
    assert!(decode::<StatusBlock>(&hex("30 04 0a 02 07 d1")).is_err()); // 2001
    assert!(decode::<Protocol>(&hex("0a 01 65")).is_err());
    // A valid value with the INTEGER tag instead of ENUMERATED.
    assert!(decode::<CipherMode>(&hex("02 02 27 13")).is_err());
}

fn header_with_max_replays(max_replays: u32) -> HeaderBlock {
    HeaderBlock {
        identity_key: AsymmetricKey {
            key_type: AsymmetricAlgorithm::Rsa,
            public_key: os(b"spki"),
            private_key: None,
        },
        serial: u32::MAX,
        max_replays,
        valid: UsagePeriod::Relative(RelativeUsagePeriod {
            not_before: Some(0),
            not_after: Some(3600),
        }),
        sign_algorithm: MacAlgorithmSpec {
            algorithm: MacAlgorithm::Sha3_256,
            parameter: AlgParameters::default(),
        },
        requests: vec![],
        request_reply_block: None,
        identifier: None,
        proof_of_work: None,
    }
}

/// `encode` refuses `value`, and its raw DER (written without validation) fails `decode` the
/// same way.
fn assert_rejected_both_ways<T>(value: &T) -> DecodeErrorKind
where
    T: for<'a> Decode<'a, Error = der::Error> + Encode + Validate + Debug,
{
    let on_encode = kind(encode(value));
    let raw = value.to_der().unwrap();
    let on_decode = kind(decode::<T>(&raw));
    assert_eq!(on_encode, on_decode);
    on_encode
}

#[test]
fn out_of_range_values_are_rejected_on_encode_and_decode() {
    // maxReplays 128.
    assert!(header_with_max_replays(127).validate().is_ok());
    assert_eq!(
        assert_rejected_both_ways(&header_with_max_replays(128)),
        DecodeErrorKind::OutOfRange {
            field: "HeaderBlock.max_replays",
            value: 128,
            min: 0,
            max: 127
        }
    );

    // gfSize 17.
    let add = |gf_size: u32| {
        PayloadOperation::AddRedundancy(AddRedundancyOperation {
            input_id: 0,
            data_stripes: 4,
            redundancy: 4,
            keys: vec![golden_key(), golden_key()],
            output_id: 1,
            gf_size,
        })
    };
    assert!(add(16).validate().is_ok());
    assert!(matches!(
        assert_rejected_both_ways(&add(17)),
        DecodeErrorKind::OutOfRange {
            field: "AddRedundancyOperation.gf_size",
            value: 17,
            ..
        }
    ));
    assert!(matches!(
        assert_rejected_both_ways(&add(1)),
        DecodeErrorKind::OutOfRange { .. }
    ));

    // A new ID of 0 is allowed (local delivery, docs/VORTEX.md D-28); 65536 is not, for any ID.
    let map = |original_id, new_id| MapBlockOperation {
        original_id,
        new_id,
    };
    assert!(map(0, 1).validate().is_ok());
    assert!(map(5, 0).validate().is_ok());
    assert!(matches!(
        assert_rejected_both_ways(&map(1, 65_536)),
        DecodeErrorKind::OutOfRange {
            field: "MapBlockOperation.new_id",
            value: 65_536,
            ..
        }
    ));
    assert!(matches!(
        assert_rejected_both_ways(&map(65_536, 1)),
        DecodeErrorKind::OutOfRange {
            field: "MapBlockOperation.original_id",
            ..
        }
    ));

    // A 15-byte key; and 513 bytes.
    let mut key = golden_key();
    key.key = SecretOctets::new(vec![7; 15]);
    assert_eq!(
        assert_rejected_both_ways(&key),
        DecodeErrorKind::BadSize {
            field: "SymmetricKey.key",
            len: 15,
            min: 16,
            max: 512
        }
    );
    key.key = SecretOctets::new(vec![7; 513]);
    assert!(matches!(
        assert_rejected_both_ways(&key),
        DecodeErrorKind::BadSize { len: 513, .. }
    ));
    // ... also when nested deep inside a message.
    let prefix = PrefixBlock { version: None, key };
    assert!(matches!(
        assert_rejected_both_ways(&prefix),
        DecodeErrorKind::BadSize { .. }
    ));
}

#[test]
fn size_bounds_are_enforced() {
    // Requests SIZE(0..8).
    let mut h = header_with_max_replays(0);
    h.requests = vec![HeaderRequest::QuotaQuery(HeaderRequestQuota {}); 9];
    assert!(matches!(
        assert_rejected_both_ways(&h),
        DecodeErrorKind::BadSize {
            field: "HeaderBlock.requests",
            len: 9,
            ..
        }
    ));
    h.requests.truncate(8);
    assert!(h.validate().is_ok());

    // PuzzleIdentifier 0..32 bytes.
    h.identifier = Some(os(&[0; 33]));
    assert!(matches!(
        assert_rejected_both_ways(&h),
        DecodeErrorKind::BadSize {
            field: "HeaderBlock.identifier",
            ..
        }
    ));
    h.identifier = Some(HeaderBlock::puzzle_identifier(0x0102_0304).unwrap());
    assert_eq!(h.identifier.as_ref().unwrap().as_bytes(), &[1, 2, 3, 4]);
    assert!(h.validate().is_ok());

    // ReplyNodes SIZE(1..5).
    let node = NodeSpec {
        transport_protocol: Protocol::Xmmp,
        recipient_address: ia5("n@x"),
        recipient_key: None,
    };
    let nodes = |n| {
        SpecialBlock::Nodes(ReplyNodes {
            node: vec![node.clone(); n],
        })
    };
    assert!(nodes(5).validate().is_ok());
    assert!(matches!(
        assert_rejected_both_ways(&nodes(0)),
        DecodeErrorKind::BadSize { .. }
    ));
    assert!(matches!(
        assert_rejected_both_ways(&nodes(6)),
        DecodeErrorKind::BadSize { .. }
    ));

    // Requirement SIZE(1..127); payload SIZE(0..127); keys SIZE(2..512).
    assert!(matches!(
        assert_rejected_both_ways(&SpecialBlock::Requirement(vec![])),
        DecodeErrorKind::BadSize { .. }
    ));
    let inner = InnerMessageBlock {
        padding: os(&[]),
        prefix: InnerPrefix::Encrypted(os(&[])),
        header: InnerHeader::Encrypted(os(&[])),
        identity_signature: os(&[]),
        routing: InnerRouting::Encrypted(os(&[])),
        payload: vec![os(b"p"); 128],
    };
    assert!(matches!(
        assert_rejected_both_ways(&inner),
        DecodeErrorKind::BadSize {
            field: "InnerMessageBlock.payload",
            ..
        }
    ));
    let one_key = AddRedundancyOperation {
        input_id: 0,
        data_stripes: 1,
        redundancy: 1,
        keys: vec![golden_key()],
        output_id: 1,
        gf_size: 8,
    };
    assert!(matches!(
        assert_rejected_both_ways(&one_key),
        DecodeErrorKind::BadSize { .. }
    ));

    // Process times 0..86400, percent 0..100, toAbsolute ±(2^32−1), dataStripes 1..254.
    let mut combo = golden_routing_block().reply_block.unwrap().murb;
    combo.max_process_time = 86_401;
    assert!(matches!(
        assert_rejected_both_ways(&combo),
        DecodeErrorKind::OutOfRange { .. }
    ));
    let pct = SizeBlock {
        size: Size::Percent(PercentSizeBlock {
            from_percent: 0,
            to_percent: 101,
        }),
    };
    assert!(matches!(
        assert_rejected_both_ways(&pct),
        DecodeErrorKind::OutOfRange { .. }
    ));
    let abs = SizeBlock {
        size: Size::Absolute(AbsoluteSizeBlock {
            from_absolute: 0,
            to_absolute: -4_294_967_296,
        }),
    };
    assert!(matches!(
        assert_rejected_both_ways(&abs),
        DecodeErrorKind::OutOfRange { .. }
    ));
    let mut stripes = one_key.clone();
    stripes.keys = vec![golden_key(), golden_key()];
    stripes.data_stripes = 255;
    assert!(matches!(
        assert_rejected_both_ways(&stripes),
        DecodeErrorKind::OutOfRange { .. }
    ));
}

#[test]
fn secrets_are_redacted_and_compared_by_value() {
    let key = golden_key();
    let shown = format!("{key:?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("31"), "{shown}"); // 0x1f = 31 is the last key byte
    let asym = AsymmetricKey {
        key_type: AsymmetricAlgorithm::Ec,
        public_key: os(b"pub"),
        private_key: Some(SecretOctets::from_slice(b"very secret")),
    };
    assert!(!format!("{asym:?}").contains("118")); // 'v'
    let mut other = golden_key();
    assert_eq!(key, other);
    other.key = SecretOctets::new((1u8..33).collect());
    assert_ne!(key, other);
}

#[test]
fn errors_display() {
    let e = kind(encode(&header_with_max_replays(200)));
    let text = DecodeError { kind: e }.to_string();
    assert!(text.contains("HeaderBlock.max_replays"), "{text}");
    let text = decode::<PrefixBlock>(&[0x30]).unwrap_err().to_string();
    assert!(text.starts_with("DER error"), "{text}");
}
