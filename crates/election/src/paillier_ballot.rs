//! Seed 000's Paillier scheme for ballots (Annex A): each entry is a Paillier ciphertext under
//! the voting administrator's key, with the 1-out-of-n membership proof of Baudron, Fouque,
//! Pointcheval and Stern (PODC 2001) that it encrypts an allowed value, and the same proof on the
//! homomorphic sum of a row for the sum rule. Kept as a selectable scheme, clearly labelled: the
//! administrator alone can decrypt every ballot. Results come with the seed's proof-of-result:
//! the randomness of each tally ciphertext, so anyone re-encrypts and compares.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::paillier::{Ciphertext, MembershipProof, Plaintext, PublicKey, Randomness};

use crate::error::{Error, Result};
use crate::manifest::{Contest, ContestKind};

/// One encrypted row under Paillier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaillierRow {
    /// One ciphertext per entry.
    pub ciphertexts: Vec<Ciphertext>,
    /// Per entry, proof that it encrypts an allowed value.
    pub entry_proofs: Vec<MembershipProof>,
    /// Proof that the product of the row's ciphertexts encrypts a value in `[sum_min, sum_max]`.
    pub sum_proof: MembershipProof,
}

/// One contest under Paillier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaillierContest {
    /// Encrypted rows.
    pub rows: Vec<PaillierRow>,
    /// Preferential contests: per candidate, proof that its column sums to 0 or 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub column_proofs: Vec<MembershipProof>,
}

fn set(values: impl IntoIterator<Item = u64>) -> Vec<Plaintext> {
    values.into_iter().map(Plaintext::from).collect()
}

fn with(ctx: &[u8], tag: &[u8]) -> Vec<u8> {
    let mut c = ctx.to_vec();
    c.extend_from_slice(tag);
    c
}

/// Encrypts a contest's plaintext rows. `row_ctx(r)` and `col_ctx(j)` give the proof contexts.
pub fn encrypt_contest<R: RngCore + CryptoRng>(
    pk: &PublicKey,
    contest: &Contest,
    rows_plain: &[Vec<u64>],
    row_ctx: &dyn Fn(usize) -> Vec<u8>,
    col_ctx: &dyn Fn(usize) -> Vec<u8>,
    rng: &mut R,
) -> Result<PaillierContest> {
    let rule = contest.row_rule();
    let entry_set = set(rule.entry_values.iter().copied());
    let sum_set = set(rule.sum_min..=rule.sum_max);
    let mut rows = Vec::with_capacity(rows_plain.len());
    let mut rands: Vec<Vec<Randomness>> = Vec::with_capacity(rows_plain.len());
    for (ri, row) in rows_plain.iter().enumerate() {
        let ctx = row_ctx(ri);
        let mut cts = Vec::with_capacity(row.len());
        let mut proofs = Vec::with_capacity(row.len());
        let mut rs = Vec::with_capacity(row.len());
        for (i, v) in row.iter().enumerate() {
            let (c, r) = pk.encrypt(&Plaintext::from(*v), rng)?;
            let idx = rule
                .entry_values
                .iter()
                .position(|x| x == v)
                .ok_or_else(|| Error::Malformed(format!("entry value {v} not allowed")))?;
            let mut ectx = with(&ctx, b"/entry/");
            ectx.extend_from_slice(&(i as u64).to_le_bytes());
            proofs.push(MembershipProof::prove(
                &ectx, pk, &c, &entry_set, idx, &r, rng,
            )?);
            cts.push(c);
            rs.push(r);
        }
        let sum: u64 = row.iter().sum();
        let total = pk.sum(cts.iter())?;
        let mut r_total = rs[0].clone();
        for r in &rs[1..] {
            r_total = pk.add_randomness(&r_total, r)?;
        }
        let idx = sum
            .checked_sub(rule.sum_min)
            .filter(|d| sum <= rule.sum_max && (*d as usize) < sum_set.len())
            .ok_or_else(|| Error::Malformed(format!("row sum {sum} outside the rule")))?;
        let sum_proof = MembershipProof::prove(
            &with(&ctx, b"/sum"),
            pk,
            &total,
            &sum_set,
            idx as usize,
            &r_total,
            rng,
        )?;
        rows.push(PaillierRow {
            ciphertexts: cts,
            entry_proofs: proofs,
            sum_proof,
        });
        rands.push(rs);
    }
    let mut column_proofs = Vec::new();
    if matches!(contest.kind, ContestKind::Preferential { .. }) {
        let bit = set([0, 1]);
        for j in 0..contest.candidates.len() {
            let total = pk.sum(rows.iter().map(|r| &r.ciphertexts[j]))?;
            let mut r_total = rands[0][j].clone();
            for rs in &rands[1..] {
                r_total = pk.add_randomness(&r_total, &rs[j])?;
            }
            let s: u64 = rows_plain.iter().map(|r| r[j]).sum();
            column_proofs.push(MembershipProof::prove(
                &col_ctx(j),
                pk,
                &total,
                &bit,
                s as usize,
                &r_total,
                rng,
            )?);
        }
    }
    Ok(PaillierContest {
        rows,
        column_proofs,
    })
}

/// Verifies every proof of a contest (shape already checked).
pub fn verify_contest(
    pk: &PublicKey,
    contest: &Contest,
    enc: &PaillierContest,
    row_ctx: &dyn Fn(usize) -> Vec<u8>,
    col_ctx: &dyn Fn(usize) -> Vec<u8>,
) -> Result<()> {
    let rule = contest.row_rule();
    let entry_set = set(rule.entry_values.iter().copied());
    let sum_set = set(rule.sum_min..=rule.sum_max);
    for (ri, row) in enc.rows.iter().enumerate() {
        let ctx = row_ctx(ri);
        for (i, (c, p)) in row.ciphertexts.iter().zip(&row.entry_proofs).enumerate() {
            let mut ectx = with(&ctx, b"/entry/");
            ectx.extend_from_slice(&(i as u64).to_le_bytes());
            p.verify(&ectx, pk, c, &entry_set)
                .map_err(|e| Error::InvalidProof(format!("row {ri} entry {i}: {e}")))?;
        }
        let total = pk.sum(row.ciphertexts.iter())?;
        row.sum_proof
            .verify(&with(&ctx, b"/sum"), pk, &total, &sum_set)
            .map_err(|e| Error::InvalidProof(format!("row {ri} sum: {e}")))?;
    }
    let bit = set([0, 1]);
    for (j, p) in enc.column_proofs.iter().enumerate() {
        let total = pk.sum(enc.rows.iter().map(|r| &r.ciphertexts[j]))?;
        p.verify(&col_ctx(j), pk, &total, &bit)
            .map_err(|e| Error::InvalidProof(format!("column {j}: {e}")))?;
    }
    Ok(())
}

/// The ciphertexts a contest adds to the tally (preferential rows weighted by `m − r`).
pub fn contribution(
    pk: &PublicKey,
    contest: &Contest,
    enc: &PaillierContest,
) -> Result<Vec<Ciphertext>> {
    let m = enc.rows.len() as u64;
    let mut acc: Vec<Option<Ciphertext>> = vec![None; contest.result_len()];
    for (r, row) in enc.rows.iter().enumerate() {
        let w = Plaintext::from(m - r as u64);
        for (a, c) in acc.iter_mut().zip(&row.ciphertexts) {
            let term = if m == 1 {
                c.clone()
            } else {
                pk.mul_plain(c, &w)?
            };
            *a = Some(match a.take() {
                None => term,
                Some(x) => pk.add(&x, &term)?,
            });
        }
    }
    acc.into_iter()
        .map(|c| c.ok_or_else(|| Error::Malformed("contest with no rows".into())))
        .collect()
}
