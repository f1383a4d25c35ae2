//! Test vectors from an independent reference (`tests/vectors/generate.py`, plain Python big
//! integers): positive vectors must seal to the exact wire bytes and open again; negative ones must
//! be rejected. All go through one `check_vector` helper.

use serde_json::Value;
use tabella_ghostline::message::{open, seal, MessageHeader, SealedMessage};
use tabella_ghostline::pad::{PadId, PadOffset, SenderIndex};

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap()).unwrap()
}

fn check_vector(v: &Value) {
    let name = v["name"].as_str().unwrap();
    let pad = bytes(v, "pad");
    let wire = bytes(v, "wire");
    if v["valid"].as_bool().unwrap() {
        let text = bytes(v, "plaintext");
        let header = MessageHeader {
            pad_id: PadId(bytes(v, "pad_id").try_into().unwrap()),
            sender: SenderIndex(v["sender"].as_u64().unwrap() as u16),
            offset: PadOffset(v["offset"].as_u64().unwrap()),
            length: text.len() as u32,
        };
        let sealed = seal(header, &text, &pad).unwrap();
        assert_eq!(
            hex::encode(sealed.encode()),
            hex::encode(&wire),
            "{name}: sealing"
        );
        let decoded = SealedMessage::decode(&wire).unwrap();
        assert_eq!(
            &open(&decoded, &pad).unwrap().0[..],
            &text[..],
            "{name}: opening"
        );
    } else {
        let rejected = match SealedMessage::decode(&wire) {
            Err(_) => true,
            Ok(m) => open(&m, &pad).is_err(),
        };
        assert!(rejected, "{name}: accepted");
    }
}

#[test]
fn sealed_message_v2_vectors() {
    let text = include_str!("vectors/sealed_message_v2.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 40);
    for v in vectors {
        check_vector(v);
    }
}
