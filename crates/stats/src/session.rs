//! Running a whole query in one process: the collective key ceremony among the computing nodes,
//! every data provider's answer, the aggregations, the noise lists and their shuffles, and the key
//! switch, in protocol order. The tests, the benchmarks and `tabella bench stats` use it; the
//! processes of a real deployment run the same steps one by one.

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use rayon::prelude::*;
use tabella_crypto::dkg::{Complaint, DkgParams, JointKey, KeyShare, Round1, TrusteeIndex};
use tabella_crypto::elgamal::{Ciphertext, DlogTable, PublicKey, SecretKey};
use tabella_crypto::group::{SecretScalar, G};

use crate::aggregation::{Aggregation, AggregationInput, AggregationLevel};
use crate::audit::QueryAudit;
use crate::error::{Error, Result};
use crate::obfuscation::{noise_list, obfuscate, ShuffleStep};
use crate::params::{proof_context, QueryId, QueryParams};
use crate::party::PartySecret;
use crate::proof::{ProofBody, ProofKind, SignedProof};
use crate::submission::Submission;
use crate::switch::KeySwitchStep;

/// A computing node: its signing key and its share of the collective key.
#[derive(Debug)]
pub struct ComputingNode {
    /// Signs its proofs.
    pub secret: PartySecret,
    /// Its share of the collective key.
    pub share: KeyShare,
}

/// Runs the t-of-n key ceremony ([`tabella_crypto::dkg`]) among `n` computing nodes in process:
/// the collective key and each node's share.
pub fn collective_key<R: RngCore + CryptoRng>(
    n: u16,
    t: u16,
    context: &[u8],
    rng: &mut R,
) -> Result<(JointKey, Vec<KeyShare>)> {
    let params = DkgParams::new(n, t, context)?;
    let secrets: Vec<SecretScalar> = (0..n).map(|_| SecretScalar::random(&mut *rng)).collect();
    let publics: Vec<PublicKey> = secrets.iter().map(|s| PublicKey(s.expose() * G)).collect();
    let mut round2 = Vec::new();
    let mut dealings = Vec::new();
    for (i, s) in secrets.into_iter().enumerate() {
        let r1 = Round1::new(
            params.clone(),
            TrusteeIndex::from_position(i)?,
            s,
            publics.clone(),
        )?;
        let (r2, d) = r1.deal(&mut *rng);
        round2.push(r2);
        dealings.push(d);
    }
    let mut round3 = Vec::new();
    let mut complaints: Vec<Complaint> = Vec::new();
    for r2 in round2 {
        let (r3, c) = r2.receive(&dealings, &mut *rng)?;
        round3.push(r3);
        complaints.extend(c);
    }
    let mut shares = Vec::new();
    let mut joint = None;
    for r3 in round3 {
        let (share, outcome) = r3.resolve(&complaints)?;
        shares.push(share);
        joint = Some(outcome.joint_key);
    }
    let joint = joint.ok_or_else(|| Error::InvalidQuery("no computing nodes".into()))?;
    Ok((joint, shares))
}

/// Every party of a query made up in one process (for tests, benchmarks and demonstrations):
/// `n` computing nodes sharing a `t`-of-`n` collective key, data providers, a querier, and the
/// query's parameters.
#[derive(Debug)]
pub struct Deployment {
    /// The query.
    pub params: QueryParams,
    /// The computing nodes, in roster order.
    pub nodes: Vec<ComputingNode>,
    /// The data providers' signing keys, in roster order.
    pub providers: Vec<PartySecret>,
    /// The querier's decryption key.
    pub querier: SecretKey,
}

impl Deployment {
    /// Generates the keys (running the collective key ceremony) and the parameters of a query
    /// with `statement`, answers of `entries` entries of `bits` bits, and `noise`.
    #[allow(clippy::too_many_arguments)]
    pub fn generate<R: RngCore + CryptoRng>(
        statement: &[u8],
        nodes: u16,
        threshold: u16,
        providers: usize,
        entries: usize,
        bits: u32,
        noise: Option<crate::params::NoisePlan>,
        rng: &mut R,
    ) -> Result<Deployment> {
        let (joint, shares) = collective_key(nodes, threshold, statement, &mut *rng)?;
        let nodes: Vec<ComputingNode> = shares
            .into_iter()
            .map(|share| ComputingNode {
                secret: PartySecret::generate(&mut *rng),
                share,
            })
            .collect();
        let providers: Vec<PartySecret> = (0..providers)
            .map(|_| PartySecret::generate(&mut *rng))
            .collect();
        let querier = SecretKey::generate(&mut *rng);
        let params = QueryParams {
            statement: statement.to_vec(),
            entries,
            bits,
            computing_nodes: nodes.iter().map(|n| n.secret.public()).collect(),
            providers: providers.iter().map(PartySecret::public).collect(),
            collective_key: joint,
            querier_key: querier.public_key(),
            noise,
            nonce: {
                let mut n = [0u8; 32];
                rng.fill_bytes(&mut n);
                n
            },
        };
        params.validate()?;
        Ok(Deployment {
            params,
            nodes,
            providers,
            querier,
        })
    }

    /// These parties as a [`crate::statement::Participants`] for another query, answered to
    /// `querier_key`.
    pub fn participants(&self, querier_key: PublicKey) -> crate::statement::Participants {
        crate::statement::Participants {
            computing_nodes: self.params.computing_nodes.clone(),
            providers: self.params.providers.clone(),
            collective_key: self.params.collective_key.clone(),
            querier_key,
        }
    }

    /// [`run`] with these parties.
    pub fn run<R: RngCore + CryptoRng>(
        &self,
        answers: &[Vec<u64>],
        rng: &mut R,
    ) -> Result<Vec<SignedProof>> {
        run(&self.params, &self.nodes, &self.providers, answers, rng)
    }
}

fn child_rng<R: RngCore>(rng: &mut R) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    ChaCha20Rng::from_seed(seed)
}

/// Every proof of one query, made honestly in protocol order: the data providers' answers
/// (`answers[i]` is provider `i`'s encoded answer; made in parallel), each node's aggregation of
/// its providers, the first node's total, every node's noise list and every node's shuffle of
/// every list, and every node's key
/// switch.
pub fn run<R: RngCore + CryptoRng>(
    params: &QueryParams,
    nodes: &[ComputingNode],
    providers: &[PartySecret],
    answers: &[Vec<u64>],
    rng: &mut R,
) -> Result<Vec<SignedProof>> {
    params.validate()?;
    let id = params.id()?;
    if nodes.len() != params.computing_nodes.len() || providers.len() != answers.len() {
        return Err(Error::InvalidQuery(
            "one key per computing node and one answer per data provider are needed".into(),
        ));
    }
    let rngs: Vec<ChaCha20Rng> = providers.iter().map(|_| child_rng(rng)).collect();
    let mut proofs: Vec<SignedProof> = providers
        .par_iter()
        .zip(answers)
        .zip(rngs)
        .map(|((dp, values), mut r)| {
            let ctx = proof_context(ProofKind::Range.label(), &id, &dp.public());
            let s = Submission::create(params, values, &ctx, &mut r)?;
            SignedProof::sign(id, dp, ProofBody::Range(s))
        })
        .collect::<Result<Vec<_>>>()?;
    let answered: std::collections::BTreeMap<_, _> = proofs
        .iter()
        .filter_map(|p| match &p.body {
            ProofBody::Range(s) => Some((p.prover, s.ciphertexts.clone())),
            _ => None,
        })
        .collect();
    let mut partials = Vec::new();
    for node in nodes {
        let me = node.secret.public();
        let inputs: Vec<AggregationInput> = params
            .providers_of(&me)
            .into_iter()
            .filter_map(|k| {
                answered.get(&k).map(|c| AggregationInput {
                    from: k,
                    ciphertexts: c.clone(),
                })
            })
            .collect();
        let agg = aggregate(params, AggregationLevel::Providers, inputs)?;
        partials.push(AggregationInput {
            from: me,
            ciphertexts: agg.output.clone(),
        });
        proofs.push(SignedProof::sign(
            id,
            &node.secret,
            ProofBody::Aggregation(agg),
        )?);
    }
    let first = nodes
        .first()
        .ok_or_else(|| Error::InvalidQuery("no computing nodes".into()))?;
    let total = aggregate(params, AggregationLevel::Nodes, partials)?;
    let total_cts = total.output.clone();
    proofs.push(SignedProof::sign(
        id,
        &first.secret,
        ProofBody::Aggregation(total),
    )?);
    let mut result = total_cts.clone();
    if params.noise.is_some() {
        let mut lists = Vec::with_capacity(nodes.len());
        for node in nodes {
            let ctx = proof_context(ProofKind::Noise.label(), &id, &node.secret.public());
            let list = noise_list(params, &ctx, &mut *rng)?;
            lists.push(list.ciphertexts.clone());
            proofs.push(SignedProof::sign(id, &node.secret, ProofBody::Noise(list))?);
        }
        for (j, list) in lists.iter_mut().enumerate() {
            for node in nodes {
                let ctx = proof_context(ProofKind::Shuffle.label(), &id, &node.secret.public());
                let step = ShuffleStep::create(params, j, list, &ctx, &mut *rng)?;
                *list = step.outputs.clone();
                proofs.push(SignedProof::sign(
                    id,
                    &node.secret,
                    ProofBody::Shuffle(Box::new(step)),
                )?);
            }
        }
        let finals: Vec<&[Ciphertext]> = lists.iter().map(Vec::as_slice).collect();
        let offset = params
            .noise
            .as_ref()
            .map_or(Ok(0), crate::params::NoisePlan::offset)?;
        result = obfuscate(&total_cts, &finals, offset, params.noise.as_ref());
    }
    for node in nodes {
        let ctx = proof_context(ProofKind::KeySwitch.label(), &id, &node.secret.public());
        let step = KeySwitchStep::create(params, &node.share, &result, &ctx, &mut *rng)?;
        proofs.push(SignedProof::sign(
            id,
            &node.secret,
            ProofBody::KeySwitch(step),
        )?);
    }
    Ok(proofs)
}

fn aggregate(
    params: &QueryParams,
    level: AggregationLevel,
    inputs: Vec<AggregationInput>,
) -> Result<Aggregation> {
    Aggregation::compute(level, params.entries, inputs)
        .ok_or_else(|| Error::OutOfRange("an input has the wrong number of entries".into()))
}

/// Checks every proof of a query in order ([`QueryAudit`], all proofs verified) and returns the
/// result under the querier's key.
pub fn audit(params: &QueryParams, proofs: &[SignedProof]) -> Result<(QueryId, Vec<Ciphertext>)> {
    let mut audit = QueryAudit::new(params.clone())?;
    audit.accept_all(proofs, crate::audit::Check::Full)?;
    let result = audit.result().ok_or_else(|| {
        Error::OutOfOrder(format!(
            "the proofs end before the result: still expected {:?}",
            audit.expected()
        ))
    })?;
    Ok((audit.id(), result))
}

/// The querier decrypts the result: each entry is a signed integer in `(−offset, offset)`
/// (the aggregate plus noise), found with a discrete-log `table` of bound `2·offset`.
pub fn decrypt(querier: &SecretKey, result: &[Ciphertext], table: &DlogTable) -> Result<Vec<i128>> {
    let offset = table.bound() / 2;
    let shift = curve25519_dalek::Scalar::from(offset) * G;
    result
        .iter()
        .map(|c| {
            let m = table.solve_vartime(&(querier.decrypt_point(c) + shift))?;
            Ok(i128::from(m) - i128::from(offset))
        })
        .collect()
}
