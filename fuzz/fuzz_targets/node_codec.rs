//! The node's consensus-engine codec (`tabella_node::engine::codec`): every message a peer
//! sends over the network (votes, proposals, proposal parts and streams, liveness messages,
//! validator proofs, sync status, requests and responses with decided blocks and extended
//! commit certificates) and every record read back from the WAL. The same bytes are tried as
//! every message type; each that decodes must re-encode to bytes that decode and re-encode to
//! the same bytes (the codec is stable), and never panic.
#![no_main]

use arc_malachitebft_app_channel::app::consensus::LivenessMsg;
use arc_malachitebft_app_channel::app::streaming::StreamMessage;
use arc_malachitebft_app_channel::app::types::codec::Codec;
use arc_malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use arc_malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use arc_malachitebft_app_channel::app::types::{ProposedValue, SignedConsensusMsg};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tabella_node::engine::codec::{EngineCodec, WalCodec};
use tabella_node::engine::context::{ProposalPart, TabellaContext};

type Ctx = TabellaContext;

fn stable<T, C: Codec<T>>(codec: &C, data: &[u8]) {
    let Ok(msg) = codec.decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    let Ok(once) = codec.encode(&msg) else {
        panic!("a decoded message does not encode");
    };
    let Ok(back) = codec.decode(once.clone()) else {
        panic!("a re-encoded message does not decode");
    };
    let Ok(twice) = codec.encode(&back) else {
        panic!("a re-decoded message does not encode");
    };
    assert_eq!(once, twice, "the codec is not stable");
}

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("node_codec"), |data: &[u8]| {
    let c = EngineCodec;
    stable::<SignedConsensusMsg<Ctx>, _>(&c, data);
    stable::<ProposalPart, _>(&c, data);
    stable::<StreamMessage<ProposalPart>, _>(&c, data);
    stable::<LivenessMsg<Ctx>, _>(&c, data);
    stable::<ValidatorProof<Ctx>, _>(&c, data);
    stable::<Status<Ctx>, _>(&c, data);
    stable::<Request<Ctx>, _>(&c, data);
    stable::<Response<Ctx>, _>(&c, data);
    stable::<ProposedValue<Ctx>, _>(&c, data);
    stable::<PolkaCertificate<Ctx>, _>(&c, data);
    let wal = WalCodec::default();
    stable::<SignedConsensusMsg<Ctx>, _>(&wal, data);
    stable::<ProposedValue<Ctx>, _>(&wal, data);
    stable::<PolkaCertificate<Ctx>, _>(&wal, data);
});
