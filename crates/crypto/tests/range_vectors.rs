//! Frozen test vectors for range proofs, aggregated range proofs and ElGamal–Pedersen link proofs
//! (`test-vectors/range/v1/`). `check_range_vectors` checks every file; the ignored
//! `regenerate_range_vectors` rewrites them (`cargo test -p tabella-crypto --test range_vectors --
//! --ignored regenerate`).

use std::fs;
use std::path::PathBuf;

use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use tabella_crypto::elgamal::{PublicKey, SecretKey};
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::range::{
    encrypt_with_range_proof, AggregatedRangeProof, PedersenCommitment, RangeEncryption, RangeProof,
};

mod support;

fn dir() -> PathBuf {
    support::vectors_dir("range/v1")
}

fn check(v: &Value) -> Result<(), String> {
    let ctx = hex::decode(v["context"].as_str().ok_or("context")?).map_err(|e| e.to_string())?;
    let bits = v["bits"].as_u64().ok_or("bits")? as usize;
    let d = &v["data"];
    let e = |e: serde_json::Error| e.to_string();
    let t = |e: tabella_crypto::Error| e.to_string();
    match v["kind"].as_str().ok_or("kind")? {
        "range" => {
            let c: PedersenCommitment =
                serde_json::from_value(d["commitment"].clone()).map_err(e)?;
            let p: RangeProof = serde_json::from_value(d["proof"].clone()).map_err(e)?;
            p.verify(&ctx, &c, bits).map_err(t)
        }
        "aggregated" => {
            let cs: Vec<PedersenCommitment> =
                serde_json::from_value(d["commitments"].clone()).map_err(e)?;
            let p: AggregatedRangeProof = serde_json::from_value(d["proof"].clone()).map_err(e)?;
            p.verify(&ctx, &cs, bits).map_err(t)
        }
        "range_encryption" => {
            let pk: PublicKey = serde_json::from_value(d["public_key"].clone()).map_err(e)?;
            let enc: RangeEncryption =
                serde_json::from_value(d["encryption"].clone()).map_err(e)?;
            enc.verify(&pk, bits, &ctx).map_err(t)
        }
        k => Err(format!("unknown kind {k}")),
    }
}

#[test]
fn check_range_vectors() {
    let (pos, neg) = support::check_vector_files("range/v1", check);
    assert!(
        pos + neg >= 10 && pos >= 4 && neg >= 4,
        "{pos}+/{neg}- vectors"
    );
}

fn write(name: &str, v: Value) {
    let path = dir().join(format!("{name}.json"));
    fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    // every generated vector must check as labelled
    assert_eq!(check(&v).is_ok(), v["valid"].as_bool().unwrap(), "{name}");
}

fn range_vec(
    desc: &str,
    valid: bool,
    ctx: &[u8],
    bits: usize,
    c: &PedersenCommitment,
    p: Value,
) -> Value {
    json!({"description": desc, "valid": valid, "kind": "range", "context": hex::encode(ctx),
           "bits": bits, "data": {"commitment": c, "proof": p}})
}

#[test]
#[ignore]
fn regenerate_range_vectors() {
    fs::create_dir_all(dir()).unwrap();
    for entry in fs::read_dir(dir()).unwrap() {
        fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let mut rng = ChaCha20Rng::seed_from_u64(0x7ab3_11a0);
    let ctx = b"tabella/test-vectors/range/v1";

    for (name, v, bits) in [
        ("range_8bit_zero", 0u64, 8usize),
        ("range_8bit_max", 255, 8),
        ("range_16bit_mid", 40_000, 16),
        ("range_32bit", 3_000_000_000, 32),
        ("range_64bit_max", u64::MAX, 64),
    ] {
        let g = SecretScalar::random(&mut rng);
        let (c, p) = RangeProof::prove(ctx, v, &g, bits, &mut rng).unwrap();
        write(
            name,
            range_vec(
                &format!("{bits}-bit range proof for v = {v}"),
                true,
                ctx,
                bits,
                &c,
                serde_json::to_value(&p).unwrap(),
            ),
        );
    }

    let g = SecretScalar::random(&mut rng);
    let (c, p) = RangeProof::prove(ctx, 200, &g, 8, &mut rng).unwrap();
    let pj = serde_json::to_value(&p).unwrap();
    write(
        "range_reject_wrong_bits",
        range_vec(
            "8-bit proof presented to a verifier that requires 16 bits (proof's bits field says 8)",
            false,
            ctx,
            16,
            &c,
            pj.clone(),
        ),
    );
    write(
        "range_reject_wrong_context",
        range_vec(
            "valid 8-bit proof checked under a different context",
            false,
            b"another context",
            8,
            &c,
            pj.clone(),
        ),
    );
    write(
        "range_reject_other_commitment",
        range_vec(
            "valid proof, commitment replaced by V + G (opens to v + 1)",
            false,
            ctx,
            8,
            &PedersenCommitment(c.0 + G),
            pj.clone(),
        ),
    );
    let mut bytes = p.to_bytes();
    bytes[7 * 32 + 5] ^= 0x20; // first inner-product L point
    write(
        "range_reject_altered_proof_byte",
        range_vec(
            "one bit flipped in the inner-product argument",
            false,
            ctx,
            8,
            &c,
            json!({"bits": 8, "proof": hex::encode(&bytes)}),
        ),
    );
    let mut bytes = p.to_bytes();
    bytes[4 * 32] ^= 1; // t_x
    write(
        "range_reject_altered_tx",
        range_vec(
            "one bit flipped in the scalar t_x",
            false,
            ctx,
            8,
            &c,
            json!({"bits": 8, "proof": hex::encode(&bytes)}),
        ),
    );
    let bytes = p.to_bytes();
    write(
        "range_reject_truncated",
        range_vec(
            "proof truncated by 32 bytes (malformed)",
            false,
            ctx,
            8,
            &c,
            json!({"bits": 8, "proof": hex::encode(&bytes[..bytes.len() - 32])}),
        ),
    );
    let mut bytes = p.to_bytes();
    bytes[5 * 32..6 * 32].copy_from_slice(&[0xff; 32]);
    write(
        "range_reject_noncanonical_scalar",
        range_vec(
            "t_x_blinding replaced by a non-canonical scalar (malformed)",
            false,
            ctx,
            8,
            &c,
            json!({"bits": 8, "proof": hex::encode(&bytes)}),
        ),
    );

    // Out of range: a prover that ignores the range check (raw bulletproofs) for v = 256 in 8 bits.
    let g = SecretScalar::random(&mut rng);
    let (forged_c, forged) = {
        let pc = tabella_crypto::range::pedersen_gens().unwrap();
        let bp = bulletproofs::BulletproofGens::new(64, 1);
        let mut t = tabella_crypto::transcript::new_transcript(b"tabella/range/v1", ctx);
        use tabella_crypto::transcript::TranscriptExt;
        t.append_u64_le(b"bits", 8);
        t.append_u64_le(b"m", 1);
        let (raw, vc) = bulletproofs::RangeProof::prove_single_with_rng(
            &bp,
            &pc,
            &mut t,
            256,
            g.expose(),
            8,
            &mut rng,
        )
        .unwrap();
        (
            PedersenCommitment(vc.decompress().unwrap()),
            RangeProof::from_raw(8, raw),
        )
    };
    assert_eq!(forged_c, PedersenCommitment::commit(256, &g).unwrap());
    write("range_reject_out_of_range_256", range_vec(
        "forged 8-bit proof for a commitment to 256 (made by a prover that skips the range check)",
        false, ctx, 8, &forged_c, serde_json::to_value(&forged).unwrap()));

    // Aggregated
    let values = [1u64, 65_535, 12_345];
    let gs: Vec<SecretScalar> = (0..3).map(|_| SecretScalar::random(&mut rng)).collect();
    let (cs, ap) = AggregatedRangeProof::prove(ctx, &values, &gs, 16, &mut rng).unwrap();
    let agg = |desc: &str, valid: bool, cs: &[PedersenCommitment]| {
        json!({
        "description": desc, "valid": valid, "kind": "aggregated", "context": hex::encode(ctx),
        "bits": 16, "data": {"commitments": cs, "proof": ap}})
    };
    write(
        "aggregated_16bit_x3",
        agg(
            "aggregated 16-bit proof for 3 commitments (padded to 4)",
            true,
            &cs,
        ),
    );
    let mut swapped = cs.clone();
    swapped.swap(0, 1);
    write(
        "aggregated_reject_reordered",
        agg(
            "aggregated proof with commitments reordered",
            false,
            &swapped,
        ),
    );
    write(
        "aggregated_reject_missing",
        agg(
            "aggregated proof with the last commitment missing",
            false,
            &cs[..2],
        ),
    );

    // Range encryption (ElGamal + Pedersen + range + link)
    let sk = SecretKey::generate(&mut rng);
    let pk = sk.public_key();
    let (enc, _) = encrypt_with_range_proof(&pk, 1_000_000, 32, ctx, &mut rng).unwrap();
    let re = |desc: &str, valid: bool, e: &RangeEncryption| {
        json!({
        "description": desc, "valid": valid, "kind": "range_encryption", "context": hex::encode(ctx),
        "bits": 32, "data": {"public_key": pk, "encryption": e}})
    };
    write(
        "encryption_32bit",
        re(
            "ElGamal encryption of 1000000 with 32-bit range proof and link proof",
            true,
            &enc,
        ),
    );
    let (other, _) = encrypt_with_range_proof(&pk, 1_000_001, 32, ctx, &mut rng).unwrap();
    let mut e = enc.clone();
    e.ciphertext = other.ciphertext;
    write(
        "encryption_reject_mismatched_value",
        re(
            "ciphertext of 1000001 with the commitment, range and link proofs for 1000000",
            false,
            &e,
        ),
    );
    let mut e = enc.clone();
    e.commitment = other.commitment;
    e.range_proof = other.range_proof.clone();
    write("encryption_reject_swapped_commitment", re(
        "commitment and range proof from another encryption (valid by themselves), link proof for the original", false, &e));
    let mut e = enc.clone();
    e.link_proof.z_v += Scalar::ONE;
    write(
        "encryption_reject_altered_zv",
        re("link proof response z_v + 1", false, &e),
    );
    let mut e = enc.clone();
    e.link_proof.a3 += G;
    write(
        "encryption_reject_altered_a3",
        re("link proof commitment A3 + G", false, &e),
    );
    let mut e = enc.clone();
    e.ciphertext.a += G;
    write(
        "encryption_reject_altered_ciphertext",
        re("ciphertext component a + G", false, &e),
    );
}
