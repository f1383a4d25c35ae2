//! Threshold decryption costs for a 2-of-3 joint key (fixed RNG seed): one trustee's partial
//! decryption with its DLEQ proof, verifying one share (alone and a batch of three), combining two
//! shares, one DKG ceremony, and one key-switch contribution.

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::dkg::{Complaint, Dealing, DkgParams, JointKey, KeyShare, Round1};
use tabella_crypto::elgamal::{PublicKey, SecretKey};
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::keyswitch::KeySwitchShare;
use tabella_crypto::threshold::{combine, verify_shares_batch, DecryptionShare};

fn ceremony(n: u16, t: u16, rng: &mut ChaCha20Rng) -> (JointKey, Vec<KeyShare>) {
    let params = DkgParams::new(n, t, b"bench").unwrap();
    let secrets: Vec<SecretScalar> = (0..n).map(|_| SecretScalar::random(rng)).collect();
    let publics: Vec<PublicKey> = secrets.iter().map(|s| PublicKey(s.expose() * G)).collect();
    let (r2, dealings): (Vec<_>, Vec<Dealing>) = params
        .indices()
        .zip(&secrets)
        .map(|(i, sk)| {
            Round1::new(params.clone(), i, sk.clone(), publics.clone())
                .unwrap()
                .deal(rng)
        })
        .unzip();
    let mut complaints: Vec<Complaint> = Vec::new();
    let r3: Vec<_> = r2
        .into_iter()
        .map(|s| {
            let (s3, mut c) = s.receive(&dealings, rng).unwrap();
            complaints.append(&mut c);
            s3
        })
        .collect();
    let mut joint = None;
    let shares = r3
        .into_iter()
        .map(|s| {
            let (k, o) = s.resolve(&complaints).unwrap();
            joint = Some(o.joint_key);
            k
        })
        .collect();
    (joint.unwrap(), shares)
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (jk, keys) = ceremony(3, 2, &mut rng);
    let (ct, _) = jk.public_key.encrypt(1234, &mut rng);
    let ctx = b"bench-context";
    let shares: Vec<DecryptionShare> = keys
        .iter()
        .map(|k| DecryptionShare::create(k, &ct, ctx, &mut rng))
        .collect();

    c.bench_function("threshold/partial_decrypt_with_proof", |b| {
        b.iter(|| DecryptionShare::create(&keys[0], &ct, ctx, &mut rng))
    });
    c.bench_function("threshold/verify_share", |b| {
        b.iter(|| shares[0].verify(&jk, &ct, ctx).unwrap())
    });
    c.bench_function("threshold/verify_3_shares_batched", |b| {
        b.iter(|| verify_shares_batch(&jk, &ct, &shares, ctx).unwrap())
    });
    c.bench_function("threshold/combine_2_of_3", |b| {
        b.iter(|| combine(&jk, &ct, &shares[..2]).unwrap())
    });
    c.bench_function("dkg/ceremony_2_of_3_all_parties", |b| {
        b.iter(|| ceremony(3, 2, &mut rng))
    });
    let q = SecretKey::generate(&mut rng).public_key();
    let parts = [keys[0].index(), keys[1].index()];
    let ks = KeySwitchShare::create(&keys[0], &parts, &ct, &q, ctx, &mut rng).unwrap();
    c.bench_function("keyswitch/contribution_with_proof", |b| {
        b.iter(|| KeySwitchShare::create(&keys[0], &parts, &ct, &q, ctx, &mut rng).unwrap())
    });
    c.bench_function("keyswitch/verify_contribution", |b| {
        b.iter(|| ks.verify(&jk, &parts, &ct, &q, ctx).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
