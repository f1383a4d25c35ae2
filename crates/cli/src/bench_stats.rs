//! `tabella bench stats`: the private-statistics protocol's proofs, and a whole sum query with
//! every proof made and every proof verified, in this process.

use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::elgamal::{Ciphertext, DlogTable};
use tabella_crypto::shuffle::shuffle;
use tabella_stats::audit::{Check, QueryAudit};
use tabella_stats::noise::{Mechanism, NoiseSpec, Rational};
use tabella_stats::params::{proof_context, NoisePlan};
use tabella_stats::proof::ProofKind;
use tabella_stats::session::{self, Deployment};
use tabella_stats::submission::Submission;
use tabella_stats::switch::KeySwitchStep;

use crate::bench::{figure, iters, Figure, Report};

/// Measures the statistics figures; `providers` and `nodes` shape the whole-query figure.
pub fn stats(scale: f64, nodes: u16, providers: usize) -> anyhow::Result<Report> {
    let mut rng = ChaCha20Rng::seed_from_u64(2027);
    let mut figures: Vec<Figure> = Vec::new();

    // A data provider's answer: one entry, range-proved.
    for (bits, prove_name, verify_name) in [
        (16u32, "answer_16bit_prove", "answer_16bit_verify"),
        (32u32, "answer_32bit_prove", "answer_32bit_verify"),
    ] {
        let d = Deployment::generate(b"bench", 3, 3, 1, 1, bits, None, &mut rng)?;
        let id = d.params.id()?;
        let ctx = proof_context(ProofKind::Range.label(), &id, &d.providers[0].public());
        let n = iters(50, scale);
        let t = Instant::now();
        let subs = (0..n)
            .map(|i| Submission::create(&d.params, &[i as u64 * 7], &ctx, &mut rng))
            .collect::<Result<Vec<_>, _>>()?;
        figures.push(figure(
            prove_name,
            "encrypt one entry and prove its range (Bulletproofs + link proof)",
            t.elapsed(),
            n,
            None,
        ));
        let t = Instant::now();
        for s in &subs {
            s.verify(&d.params, &ctx).map_err(anyhow::Error::msg)?;
        }
        figures.push(figure(
            verify_name,
            "verify one range-proved entry",
            t.elapsed(),
            n,
            None,
        ));
    }

    // Verifiable shuffles (of noise lists).
    let d = Deployment::generate(b"bench", 3, 3, 1, 1, 16, None, &mut rng)?;
    let pk = d.params.collective_key.public_key;
    for (len, prove_name, verify_name, target) in [
        (100usize, "shuffle_100_prove", "shuffle_100_verify", None),
        (1000, "shuffle_1000_prove", "shuffle_1000_verify", Some(1e6)),
    ] {
        let list: Vec<Ciphertext> = (0..len as u64).map(|i| pk.encrypt(i, &mut rng).0).collect();
        let n = iters(3, scale);
        let t = Instant::now();
        let mut shuffled = Vec::new();
        for _ in 0..n {
            shuffled.push(shuffle(&pk, &list, b"bench", &mut rng)?);
        }
        figures.push(figure(
            prove_name,
            "re-encrypt, permute and prove (Terelius–Wikström)",
            t.elapsed(),
            n,
            None,
        ));
        let t = Instant::now();
        for (out, proof) in &shuffled {
            proof.verify(&pk, &list, out, b"bench")?;
        }
        figures.push(figure(
            verify_name,
            "verify a shuffle proof",
            t.elapsed(),
            n,
            target,
        ));
    }

    // One computing node's key-switch contribution to one entry.
    let d = Deployment::generate(b"bench", nodes, nodes, 1, 1, 16, None, &mut rng)?;
    let ct = d.params.collective_key.public_key.encrypt(5, &mut rng).0;
    let j = d.params.node_index(&d.nodes[0].secret.public())?;
    let n = iters(200, scale);
    let t = Instant::now();
    let steps = (0..n)
        .map(|_| KeySwitchStep::create(&d.params, &d.nodes[0].share, &[ct], b"bench", &mut rng))
        .collect::<Result<Vec<_>, _>>()?;
    figures.push(figure(
        "key_switch_prove",
        "one node's key-switch contribution to one entry, with proof",
        t.elapsed(),
        n,
        None,
    ));
    let t = Instant::now();
    for s in &steps {
        s.verify(&d.params, j, &[ct], b"bench")
            .map_err(anyhow::Error::msg)?;
    }
    figures.push(figure(
        "key_switch_verify",
        "verify one contribution",
        t.elapsed(),
        n,
        None,
    ));

    // A whole sum query: every answer, aggregation, shuffle and key switch made, then all
    // verified, then decrypted by the querier.
    // Every node adds discrete Laplace noise of scale 2 (ε = 1/2, sensitivity 1).
    let noise = Some(NoisePlan {
        spec: NoiseSpec {
            mechanism: Mechanism::Laplace,
            epsilon: Rational::new(1, 2)?,
            delta: None,
            sensitivity: 1,
        },
        list_len: 1,
        scales: Vec::new(),
    });
    let d = Deployment::generate(
        b"bench sum",
        nodes,
        nodes,
        providers,
        1,
        16,
        noise,
        &mut rng,
    )?;
    let answers: Vec<Vec<u64>> = (0..providers as u64).map(|i| vec![i % 100]).collect();
    let exact: i128 = answers.iter().map(|a| i128::from(a[0])).sum();
    let table = DlogTable::new(1 << 22)?;
    let n = iters(2, scale);
    let t = Instant::now();
    for _ in 0..n {
        let proofs = d.run(&answers, &mut rng)?;
        let mut audit = QueryAudit::new(d.params.clone())?;
        audit.accept_all(&proofs, Check::Full)?;
        let result = audit
            .result()
            .ok_or_else(|| anyhow::anyhow!("the query produced no result"))?;
        let got = session::decrypt(&d.querier, &result, &table)?;
        let noise_added = got.first().map(|g| g - exact).unwrap_or(i128::MAX);
        if !(-1000..1000).contains(&noise_added) {
            anyhow::bail!("the sum query decrypted to {got:?}, not {exact} plus noise");
        }
    }
    figures.push(figure(
        "sum_query",
        "sum query: all proofs made and verified, result decrypted",
        t.elapsed(),
        n,
        Some(3e6),
    ));
    Ok(Report {
        profile: crate::bench::profile(),
        threads: rayon::current_num_threads(),
        figures,
    })
}
