//! MessageVortex DER blocks (`tabella_vortex::asn1::decode`): every top-level ASN.1 type a node
//! decodes from a peer or from its own stores. The same bytes are tried as every type; a value
//! that decodes must re-encode to exactly the same bytes (the decoder enforces canonical DER),
//! and the domain conversions a node applies next (keys, operations, blendings, validity
//! periods) must not panic, and round-trip where the value is one we implement.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_vortex::asn1::{
    decode, encode, AsymmetricKey, BlendingSpec, HeaderBlock, HeaderRequest, IdentityReplayStore,
    IdentityStore, InnerMessageBlock, MemoryPayloadChunk, NodeSpec, PayloadOperation, PrefixBlock,
    ReplyBlock, RequirementBlock, RoutingBlock, RoutingCombo, SpecialBlock, SymmetricKey,
    UsagePeriod, Validate, VortexMessage,
};
use tabella_vortex::wire;

fn canonical<T>(data: &[u8]) -> Option<T>
where
    T: for<'a> der::Decode<'a, Error = der::Error> + der::Encode + Validate,
{
    let v: T = decode(data).ok()?;
    assert_eq!(
        encode(&v).unwrap(),
        data,
        "decode accepted a non-canonical encoding"
    );
    Some(v)
}

fn check_sym(k: &SymmetricKey) {
    if let Ok(key) = wire::sym_from_wire(k) {
        let back = wire::sym_to_wire(&key).unwrap();
        let again = wire::sym_from_wire(&back).unwrap();
        assert_eq!(again.key_bytes(), key.key_bytes());
        assert_eq!(again.iv(), key.iv());
        assert_eq!(again.cipher(), key.cipher());
        assert_eq!(again.mode(), key.mode());
        assert_eq!(again.padding(), key.padding());
    }
}

fn check_op(op: &PayloadOperation) {
    if let Ok(o) = wire::op_from_wire(op) {
        let back = wire::op_to_wire(&o).unwrap();
        assert_eq!(wire::op_from_wire(&back).unwrap(), o);
    }
}

fn check_blending(spec: &BlendingSpec) {
    if let Ok(b) = wire::blending_of(spec) {
        let back = wire::blending_spec("node@example.org", &b).unwrap();
        assert_eq!(wire::blending_of(&back).unwrap(), b);
    }
}

fn check_combo(c: &RoutingCombo) {
    c.peer_key.iter().flatten().for_each(check_sym);
    c.assembly.iter().for_each(check_op);
    check_blending(&c.recipient);
}

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("vortex_der"), |data: &[u8]| {
    if let Some(k) = canonical::<SymmetricKey>(data) {
        check_sym(&k);
    }
    if let Some(p) = canonical::<PrefixBlock>(data) {
        check_sym(&p.key);
    }
    if let Some(k) = canonical::<AsymmetricKey>(data) {
        let _ = wire::public_from_wire(&k);
    }
    if let Some(op) = canonical::<PayloadOperation>(data) {
        check_op(&op);
    }
    if let Some(spec) = canonical::<BlendingSpec>(data) {
        check_blending(&spec);
    }
    if let Some(p) = canonical::<UsagePeriod>(data) {
        let _ = wire::window(&p, 1_700_000_000);
    }
    if let Some(h) = canonical::<HeaderBlock>(data) {
        let _ = wire::public_from_wire(&h.identity_key);
        let _ = wire::window(&h.valid, 1_700_000_000);
        let _ = wire::hash_from_wire(&h.sign_algorithm);
        if let Some(c) = &h.request_reply_block {
            check_combo(c);
        }
    }
    if let Some(r) = canonical::<RoutingBlock>(data) {
        r.routing.iter().for_each(check_combo);
    }
    if let Some(c) = canonical::<RoutingCombo>(data) {
        check_combo(&c);
    }
    let _ = canonical::<VortexMessage>(data);
    let _ = canonical::<InnerMessageBlock>(data);
    let _ = canonical::<ReplyBlock>(data);
    let _ = canonical::<SpecialBlock>(data);
    let _ = canonical::<IdentityStore>(data);
    let _ = canonical::<IdentityReplayStore>(data);
    let _ = canonical::<MemoryPayloadChunk>(data);
    let _ = canonical::<HeaderRequest>(data);
    let _ = canonical::<RequirementBlock>(data);
    let _ = canonical::<NodeSpec>(data);
});
