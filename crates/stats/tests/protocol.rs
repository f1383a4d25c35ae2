//! The statistics protocol end to end, and every proof kind attacked by a prover who knows the
//! code, the transcript and its own keys.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::elgamal::{Ciphertext, DlogTable, SecretKey};
use tabella_crypto::group::{SecretScalar, G};
use tabella_stats::aggregation::AggregationLevel;
use tabella_stats::audit::{Check, QueryAudit};
use tabella_stats::noise::{Mechanism, NoiseSpec, Rational};
use tabella_stats::params::{proof_context, NoisePlan, QueryParams};
use tabella_stats::party::PartySecret;
use tabella_stats::proof::{ProofBody, ProofKind, SignedProof};
use tabella_stats::session::{self, ComputingNode, Deployment};
use tabella_stats::submission::Submission;
use tabella_stats::Error;

struct Setup {
    params: QueryParams,
    nodes: Vec<ComputingNode>,
    providers: Vec<PartySecret>,
    querier: SecretKey,
    rng: ChaCha20Rng,
}

fn setup(
    seed: u64,
    cns: u16,
    dps: usize,
    entries: usize,
    bits: u32,
    noise: Option<NoisePlan>,
) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let d = Deployment::generate(
        b"SELECT sum(x)",
        cns,
        cns,
        dps,
        entries,
        bits,
        noise,
        &mut rng,
    )
    .unwrap();
    Setup {
        params: d.params,
        nodes: d.nodes,
        providers: d.providers,
        querier: d.querier,
        rng,
    }
}

/// Discrete Laplace noise of scale 2 (sensitivity 1, ε = 1/2), lists of `len` values.
fn laplace(len: usize) -> Option<NoisePlan> {
    Some(NoisePlan {
        spec: NoiseSpec {
            mechanism: Mechanism::Laplace,
            epsilon: Rational::new(1, 2).unwrap(),
            delta: None,
            sensitivity: 1,
        },
        list_len: len,
        scales: Vec::new(),
    })
}

fn answers(dps: usize, entries: usize, modulus: u64) -> Vec<Vec<u64>> {
    (0..dps)
        .map(|i| {
            (0..entries)
                .map(|e| (i as u64 * 7919 + e as u64 * 104_729) % modulus)
                .collect()
        })
        .collect()
}

fn totals(answers: &[Vec<u64>]) -> Vec<i128> {
    let entries = answers[0].len();
    (0..entries)
        .map(|e| answers.iter().map(|a| i128::from(a[e])).sum())
        .collect()
}

fn decrypt(s: &Setup, result: &[Ciphertext]) -> Vec<i128> {
    let table = DlogTable::new(1 << 24).unwrap();
    session::decrypt(&s.querier, result, &table).unwrap()
}

fn rejected(e: Error, kind: ProofKind, prover: &PartySecret) -> String {
    match e {
        Error::ProofRejected {
            prover: p,
            kind: k,
            reason,
        } => {
            assert_eq!(k, kind, "wrong kind named: {reason}");
            assert_eq!(p, prover.public(), "wrong prover named: {reason}");
            reason
        }
        other => panic!("expected a rejected {kind} proof, got {other:?}"),
    }
}

/// Re-signs `proof` with a tampered body, as its (dishonest) prover can.
fn resign(proof: &SignedProof, secret: &PartySecret, body: ProofBody) -> SignedProof {
    SignedProof::sign(proof.query, secret, body).unwrap()
}

/// Accepts `proofs` until the one at `at`, which must be rejected; returns the error.
fn first_rejection(params: &QueryParams, proofs: &[SignedProof], at: usize) -> Error {
    let mut audit = QueryAudit::new(params.clone()).unwrap();
    for p in &proofs[..at] {
        audit.accept(p, Check::Full).unwrap();
    }
    audit.accept(&proofs[at], Check::Full).unwrap_err()
}

fn position(proofs: &[SignedProof], kind: ProofKind, prover: &PartySecret) -> usize {
    proofs
        .iter()
        .position(|p| p.kind() == kind && p.prover == prover.public())
        .unwrap()
}

#[test]
fn a_sum_without_noise_is_exact() {
    let mut s = setup(1, 3, 12, 1, 16, None);
    let a = answers(12, 1, 1 << 16);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    // 12 answers, 3 + 1 aggregations, 3 key switches.
    assert_eq!(proofs.len(), 12 + 4 + 3);
    let (_, result) = session::audit(&s.params, &proofs).unwrap();
    assert_eq!(decrypt(&s, &result), totals(&a));
}

#[test]
fn a_vector_longer_than_one_range_proof_chunk_is_exact_and_survives_json() {
    let mut s = setup(2, 2, 5, 21, 8, None);
    let a = answers(5, 21, 256);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let json = serde_json::to_string(&proofs).unwrap();
    let back: Vec<SignedProof> = serde_json::from_str(&json).unwrap();
    let (_, result) = session::audit(&s.params, &back).unwrap();
    assert_eq!(decrypt(&s, &result), totals(&a));
}

#[test]
fn every_node_adds_its_own_secret_noise() {
    let mut s = setup(3, 3, 6, 2, 16, laplace(4));
    let a = answers(6, 2, 1000);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    // 6 answers, 4 aggregations, 3 noise lists, 3 × 3 shuffles, 3 key switches.
    assert_eq!(proofs.len(), 6 + 4 + 3 + 9 + 3);
    let (_, result) = session::audit(&s.params, &proofs).unwrap();
    let got = decrypt(&s, &result);
    let exact = totals(&a);
    let added: Vec<i128> = got.iter().zip(&exact).map(|(g, e)| g - e).collect();
    // The sum of three scale-2 Laplace draws: small, and (with this seed) not zero everywhere.
    assert!(added.iter().all(|n| n.abs() < 200), "{added:?}");
    assert!(added.iter().any(|n| *n != 0), "{added:?}");
}

#[test]
fn a_noise_list_must_be_a_nodes_and_in_range() {
    let mut s = setup(14, 2, 2, 1, 8, laplace(2));
    let a = answers(2, 1, 256);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let node = &s.nodes[0].secret;
    let i = position(&proofs, ProofKind::Noise, node);
    let ProofBody::Noise(list) = &proofs[i].body else {
        panic!()
    };
    // A node drowning the result: a list proven with 64-bit ranges (values up to 2^64).
    let wide = s.params.with_shape(2, 64);
    let ctx = proof_context(ProofKind::Noise.label(), &proofs[i].query, &node.public());
    let huge = Submission::create(&wide, &[u64::MAX, 1 << 40], &ctx, &mut s.rng).unwrap();
    let mut tampered = proofs.clone();
    tampered[i] = resign(&proofs[i], node, ProofBody::Noise(huge));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Noise,
        node,
    );
    // A node biasing the result within 32 bits but beyond the plan's bound (scale 2: 8 bits).
    assert_eq!(s.params.noise.as_ref().unwrap().bits().unwrap(), 8);
    let loose = s.params.with_shape(2, 32);
    let biased = Submission::create(&loose, &[1 << 20, 128], &ctx, &mut s.rng).unwrap();
    tampered[i] = resign(&proofs[i], node, ProofBody::Noise(biased));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Noise,
        node,
    );
    // Noise too wide to bound in 32 bits is refused when the query is made.
    let mut wide = s.params.clone();
    if let Some(plan) = wide.noise.as_mut() {
        plan.spec.sensitivity = 1 << 40;
    }
    assert!(matches!(wide.validate(), Err(Error::InvalidQuery(m)) if m.contains("too wide")));
    // A provider sending a noise list.
    tampered[i] = resign(&proofs[i], &s.providers[0], ProofBody::Noise(list.clone()));
    assert!(matches!(
        first_rejection(&s.params, &tampered, i),
        Error::NotInRoster { .. }
    ));
}

#[test]
fn a_provider_cannot_exceed_the_range() {
    let mut s = setup(4, 2, 3, 1, 8, None);
    let id = s.params.id().unwrap();
    let dp = &s.providers[0];
    let ctx = proof_context(ProofKind::Range.label(), &id, &dp.public());
    // The honest code refuses.
    assert!(matches!(
        Submission::create(&s.params, &[256], &ctx, &mut s.rng),
        Err(Error::OutOfRange(_))
    ));
    // A cheater proves 256 in a 16-bit proof and presents it for the 8-bit query.
    let mut wide = s.params.clone();
    wide.bits = 16;
    let sub = Submission::create(&wide, &[256], &ctx, &mut s.rng).unwrap();
    let forged = SignedProof::sign(id, dp, ProofBody::Range(sub.clone())).unwrap();
    let mut audit = QueryAudit::new(s.params.clone()).unwrap();
    let reason = rejected(
        audit.accept(&forged, Check::Full).unwrap_err(),
        ProofKind::Range,
        dp,
    );
    assert!(reason.contains("range proof"), "{reason}");
    // A cheater keeps an honest 8-bit proof of 1 but swaps in an encryption of 1000.
    let mut honest = Submission::create(&s.params, &[1], &ctx, &mut s.rng).unwrap();
    let r = SecretScalar::random(&mut s.rng);
    honest.ciphertexts[0] = s
        .params
        .collective_key
        .public_key
        .encrypt_with(&1000u64.into(), &r);
    let forged = SignedProof::sign(id, dp, ProofBody::Range(honest)).unwrap();
    let reason = rejected(
        audit.accept(&forged, Check::Full).unwrap_err(),
        ProofKind::Range,
        dp,
    );
    assert!(reason.contains("does not hold"), "{reason}");
    // Nothing was accepted from the cheater: an honest answer still goes in.
    let ok = Submission::create(&s.params, &[200], &ctx, &mut s.rng).unwrap();
    let ok = SignedProof::sign(id, dp, ProofBody::Range(ok)).unwrap();
    audit.accept(&ok, Check::Full).unwrap();
    // ... once: a replay is refused.
    let reason = rejected(
        audit.accept(&ok, Check::Full).unwrap_err(),
        ProofKind::Range,
        dp,
    );
    assert!(reason.contains("already answered"), "{reason}");
}

#[test]
fn a_range_proof_is_bound_to_its_prover_and_query() {
    let mut s = setup(5, 2, 3, 1, 8, None);
    let a = answers(3, 1, 256);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let i = position(&proofs, ProofKind::Range, &s.providers[0]);
    // Provider 1 re-signs provider 0's answer as its own: the proofs' context names provider 0.
    let stolen = resign(&proofs[i], &s.providers[1], proofs[i].body.clone());
    let mut audit = QueryAudit::new(s.params.clone()).unwrap();
    rejected(
        audit.accept(&stolen, Check::Full).unwrap_err(),
        ProofKind::Range,
        &s.providers[1],
    );
    // A flipped signature byte.
    let mut bad = proofs[i].clone();
    let mut bytes = bad.signature.0.to_bytes();
    bytes[5] ^= 1;
    bad.signature =
        tabella_crypto::ed25519::Signature(ed25519_dalek::Signature::from_bytes(&bytes));
    let reason = rejected(
        audit.accept(&bad, Check::Full).unwrap_err(),
        ProofKind::Range,
        &s.providers[0],
    );
    assert_eq!(reason, "bad signature");
    // A stranger's answer.
    let stranger = PartySecret::generate(&mut s.rng);
    let foreign = resign(&proofs[i], &stranger, proofs[i].body.clone());
    assert!(matches!(
        audit.accept(&foreign, Check::Full),
        Err(Error::NotInRoster { .. })
    ));
    // The same proofs for another query (another statement: another id).
    let mut other = s.params.clone();
    other.statement = b"SELECT sum(y)".to_vec();
    let mut audit = QueryAudit::new(other).unwrap();
    let reason = rejected(
        audit.accept(&proofs[i], Check::Full).unwrap_err(),
        ProofKind::Range,
        &s.providers[0],
    );
    assert!(reason.contains("for query"), "{reason}");
}

#[test]
fn an_aggregator_cannot_add_drop_or_change_inputs() {
    let mut s = setup(6, 2, 4, 1, 16, None);
    let a = answers(4, 1, 1 << 16);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let node = &s.nodes[1].secret;
    let i = position(&proofs, ProofKind::Aggregation, node);
    let ProofBody::Aggregation(agg) = &proofs[i].body else {
        panic!()
    };
    assert_eq!(agg.level, AggregationLevel::Providers);
    let one = s
        .params
        .collective_key
        .public_key
        .encrypt_with(&1u64.into(), &SecretScalar::random(&mut s.rng));
    // A wrong output.
    let mut wrong = agg.clone();
    wrong.output[0] = wrong.output[0] + one;
    let mut tampered = proofs.clone();
    tampered[i] = resign(&proofs[i], node, ProofBody::Aggregation(wrong));
    let reason = rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Aggregation,
        node,
    );
    assert!(reason.contains("not the sum"), "{reason}");
    // A dropped input, with a consistent sum.
    let mut dropped = agg.clone();
    dropped.inputs.pop();
    dropped.output = tabella_stats::aggregation::sum_entries(1, &dropped.inputs).unwrap();
    tampered[i] = resign(&proofs[i], node, ProofBody::Aggregation(dropped));
    let reason = rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Aggregation,
        node,
    );
    assert!(reason.contains("inputs"), "{reason}");
    // An input invented (an encryption of 1 attributed to a provider), with a consistent sum.
    let mut invented = agg.clone();
    invented.inputs[0].ciphertexts[0] = one;
    invented.output = tabella_stats::aggregation::sum_entries(1, &invented.inputs).unwrap();
    tampered[i] = resign(&proofs[i], node, ProofBody::Aggregation(invented));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Aggregation,
        node,
    );
}

#[test]
fn a_shuffle_cannot_pick_or_change_the_noise() {
    let mut s = setup(7, 3, 3, 1, 8, laplace(4));
    let a = answers(3, 1, 256);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let node = &s.nodes[1].secret;
    // Node 1's shuffle of node 0's list (the first shuffle node 1 makes).
    let i = position(&proofs, ProofKind::Shuffle, node);
    let ProofBody::Shuffle(step) = &proofs[i].body else {
        panic!()
    };
    assert_eq!(step.list, 0);
    let pk = s.params.collective_key.public_key;
    let mut tampered = proofs.clone();
    // Replace the entry that will be used with an encryption of the offset (noise 0).
    let mut zero = (**step).clone();
    let offset = s.params.noise.as_ref().unwrap().offset().unwrap();
    zero.outputs[0] = pk.encrypt_with(&offset.into(), &SecretScalar::random(&mut s.rng));
    tampered[i] = resign(&proofs[i], node, ProofBody::Shuffle(Box::new(zero)));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Shuffle,
        node,
    );
    // Swap two outputs after proving.
    let mut swapped = (**step).clone();
    swapped.outputs.swap(0, 1);
    tampered[i] = resign(&proofs[i], node, ProofBody::Shuffle(Box::new(swapped)));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Shuffle,
        node,
    );
    // A fresh honest shuffle of the wrong state (the list as node 0 sent it, skipping node 0's
    // shuffle).
    let n0 = position(&proofs, ProofKind::Noise, &s.nodes[0].secret);
    let ProofBody::Noise(sent) = &proofs[n0].body else {
        panic!()
    };
    let ctx = proof_context(ProofKind::Shuffle.label(), &proofs[i].query, &node.public());
    let restart = tabella_stats::obfuscation::ShuffleStep::create(
        &s.params,
        0,
        &sent.ciphertexts,
        &ctx,
        &mut s.rng,
    )
    .unwrap();
    tampered[i] = resign(&proofs[i], node, ProofBody::Shuffle(Box::new(restart)));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::Shuffle,
        node,
    );
    // Out of turn: node 2 shuffles before node 1.
    let j = position(&proofs, ProofKind::Shuffle, &s.nodes[2].secret);
    let mut order = proofs.clone();
    order.swap(i, j);
    let reason = rejected(
        first_rejection(&s.params, &order, i),
        ProofKind::Shuffle,
        &s.nodes[2].secret,
    );
    assert!(reason.contains("turn"), "{reason}");
}

#[test]
fn a_key_switch_share_must_be_the_nodes_own() {
    let mut s = setup(8, 3, 3, 2, 8, None);
    let a = answers(3, 2, 256);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let node = &s.nodes[0].secret;
    let i = position(&proofs, ProofKind::KeySwitch, node);
    let ProofBody::KeySwitch(step) = &proofs[i].body else {
        panic!()
    };
    let mut tampered = proofs.clone();
    // Shift the result by adding G to W: the querier would read a wrong value.
    let mut shifted = step.clone();
    shifted.shares[1].w += G;
    tampered[i] = resign(&proofs[i], node, ProofBody::KeySwitch(shifted));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::KeySwitch,
        node,
    );
    // A contribution made with another share (node 2's) under node 0's name.
    let total = {
        let mut audit = QueryAudit::new(s.params.clone()).unwrap();
        for p in &proofs[..i] {
            audit.accept(p, Check::Full).unwrap();
        }
        audit.obfuscated_total().unwrap()
    };
    let ctx = proof_context(
        ProofKind::KeySwitch.label(),
        &proofs[i].query,
        &node.public(),
    );
    let other = tabella_stats::switch::KeySwitchStep::create(
        &s.params,
        &s.nodes[2].share,
        &total,
        &ctx,
        &mut s.rng,
    )
    .unwrap();
    tampered[i] = resign(&proofs[i], node, ProofBody::KeySwitch(other));
    rejected(
        first_rejection(&s.params, &tampered, i),
        ProofKind::KeySwitch,
        node,
    );
    // Key switching before the aggregation is out of order.
    let mut audit = QueryAudit::new(s.params.clone()).unwrap();
    assert!(matches!(
        audit.accept(&proofs[i], Check::Full),
        Err(Error::OutOfOrder(_))
    ));
}

#[test]
fn missing_proofs_are_listed_and_no_result_comes_out() {
    let mut s = setup(9, 2, 3, 1, 8, laplace(2));
    let a = answers(3, 1, 256);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let mut audit = QueryAudit::new(s.params.clone()).unwrap();
    for p in proofs
        .iter()
        .filter(|p| p.prover != s.providers[2].public())
    {
        match audit.accept(p, Check::Full) {
            Ok(()) => {}
            Err(_) => break,
        }
    }
    assert!(audit.result().is_none());
    assert!(audit
        .expected()
        .contains(&(ProofKind::Range, s.providers[2].public())));
}

#[test]
fn a_bound_below_the_proof_size_is_exact() {
    // Entries of 10 bits: proofs are 16-bit, and a second proof covers v + 2^16 − 2^10.
    let mut s = setup(10, 2, 3, 9, 10, None);
    let a = answers(3, 9, 1 << 10);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let (_, result) = session::audit(&s.params, &proofs).unwrap();
    assert_eq!(decrypt(&s, &result), totals(&a));
    let id = s.params.id().unwrap();
    let dp = &s.providers[0];
    let ctx = proof_context(ProofKind::Range.label(), &id, &dp.public());
    let value = vec![1024u64; 9];
    // The honest code refuses 1024.
    assert!(matches!(
        Submission::create(&s.params, &value, &ctx, &mut s.rng),
        Err(Error::OutOfRange(_))
    ));
    // A cheater proves 1024 with the 16-bit proofs alone (a layout of 16 bits) ...
    let mut loose = s.params.clone();
    loose.bits = 16;
    let forged = Submission::create(&loose, &value, &ctx, &mut s.rng).unwrap();
    let forged = SignedProof::sign(id, dp, ProofBody::Range(forged)).unwrap();
    let mut audit = QueryAudit::new(s.params.clone()).unwrap();
    rejected(
        audit.accept(&forged, Check::Full).unwrap_err(),
        ProofKind::Range,
        dp,
    );
    // ... or with a smaller shift that 1024 passes (a layout of 11 bits): the verifier derives
    // its own shift, so the upper proof does not verify.
    let mut eleven = s.params.clone();
    eleven.bits = 11;
    let forged = Submission::create(&eleven, &value, &ctx, &mut s.rng).unwrap();
    let forged = SignedProof::sign(id, dp, ProofBody::Range(forged)).unwrap();
    let reason = rejected(
        audit.accept(&forged, Check::Full).unwrap_err(),
        ProofKind::Range,
        dp,
    );
    assert!(reason.contains("range proof"), "{reason}");
}

#[test]
fn the_collective_key_must_be_any_trust_and_keys_not_the_identity() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    // 2-of-3: two colluding nodes could decrypt every answer.
    let (joint, _) = session::collective_key(3, 2, b"t < n", &mut rng).unwrap();
    let s = setup(11, 3, 2, 1, 8, None);
    let mut p = s.params.clone();
    p.collective_key = joint;
    assert!(matches!(p.validate(), Err(Error::InvalidQuery(m)) if m.contains("t = n")));
    let mut p = s.params.clone();
    p.querier_key = tabella_crypto::elgamal::PublicKey(curve25519_dalek::RistrettoPoint::default());
    assert!(matches!(p.validate(), Err(Error::InvalidQuery(m)) if m.contains("identity")));
}

#[test]
fn a_sampled_proof_keeps_the_total_from_being_switched() {
    let mut s = setup(12, 2, 3, 1, 8, laplace(4));
    let a = answers(3, 1, 256);
    let proofs = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let i = position(&proofs, ProofKind::Shuffle, &s.nodes[0].secret);
    let mut full = QueryAudit::new(s.params.clone()).unwrap();
    let mut sampled = QueryAudit::new(s.params.clone()).unwrap();
    for (k, p) in proofs.iter().enumerate() {
        if p.kind() == ProofKind::KeySwitch {
            break;
        }
        full.accept(p, Check::Full).unwrap();
        let check = if k == i { Check::Light } else { Check::Full };
        sampled.accept(p, check).unwrap();
    }
    assert!(full.total_to_switch().is_some());
    assert_eq!(full.obfuscated_total(), sampled.obfuscated_total());
    assert!(
        sampled.total_to_switch().is_none(),
        "a node must not key-switch a total resting on an unchecked shuffle"
    );
}

#[test]
fn proofs_of_an_earlier_run_of_the_same_question_are_refused() {
    let mut s = setup(13, 2, 2, 1, 8, None);
    let a = answers(2, 1, 256);
    let first = session::run(&s.params, &s.nodes, &s.providers, &a, &mut s.rng).unwrap();
    let mut again = s.params.clone();
    again.nonce[0] ^= 1;
    let mut audit = QueryAudit::new(again).unwrap();
    let reason = rejected(
        audit.accept(&first[0], Check::Full).unwrap_err(),
        ProofKind::Range,
        &s.providers[0],
    );
    assert!(reason.contains("for query"), "{reason}");
}
