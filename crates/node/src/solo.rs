//! The one-validator driver: with a roster of one, the validator's own precommit is the
//! whole commit certificate. It proposes a block when transactions are pending, re-executes
//! it, signs it and commits it.
//!
//! Interim: the Malachite adapter replaces this driver for every roster size.

use std::time::Duration;

use tabella_ledger::block::Commit;
use tabella_ledger::verdict::SignedBitmap;
use tokio::sync::watch;

use crate::api::SharedApp;
use crate::app::LedgerApp;
use crate::error::Error;

/// Runs until `stop` turns true.
pub async fn drive(
    app: SharedApp,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let mut verdicts: Vec<SignedBitmap> = Vec::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
        let app = app.clone();
        let carried = std::mem::take(&mut verdicts);
        let step = tokio::task::spawn_blocking(move || -> Result<Vec<SignedBitmap>, Error> {
            let mut a = app
                .lock()
                .map_err(|_| Error::Engine("application lock poisoned".into()))?;
            if a.pending() == 0 && carried.is_empty() {
                return Ok(carried);
            }
            let height = a
                .tip_height()
                .next()
                .ok_or_else(|| Error::Engine("height overflow".into()))?;
            let block = a.propose(height, carried).map_err(Error::Engine)?;
            a.validate(&block).map_err(Error::Engine)?;
            let hash = block.header.hash();
            let mine = a.verdicts_for(&hash);
            let has_client_txs = block
                .txs
                .iter()
                .any(|t| !matches!(t, tabella_ledger::tx::Transaction::Verdicts { .. }));
            let commit = Commit {
                height,
                block: hash,
                signatures: vec![a.sign_commit(height, &hash)],
            };
            a.commit(block, commit).map_err(Error::Engine)?;
            Ok(if has_client_txs {
                mine.into_iter().collect()
            } else {
                Vec::new()
            })
        })
        .await
        .map_err(|e| Error::Engine(e.to_string()))?;
        match step {
            Ok(v) => verdicts = v,
            Err(e) => eprintln!("tabella node: block production failed: {e}"),
        }
    }
}
