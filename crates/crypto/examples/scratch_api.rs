use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::time::Instant;
use tabella_crypto::paillier::*;

fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn measure<F: FnMut()>(name: &str, iters: u32, mut f: F) {
    let c0 = cpu_ns();
    let t0 = Instant::now();
    for _ in 0..iters {
        f();
    }
    let wall = t0.elapsed() / iters;
    let cpu = (cpu_ns() - c0) / iters as u64;
    println!(
        "{name:28} cpu {:8.3} ms   wall {:8.3} ms",
        cpu as f64 / 1e6,
        wall.as_secs_f64() * 1e3
    );
}

fn main() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let c0 = cpu_ns();
    let sk = SecretKey::generate(2048, &mut rng).unwrap();
    println!("keygen cpu {:.3} s", (cpu_ns() - c0) as f64 / 1e9);
    let pk = sk.public_key().clone();
    let m = Plaintext::from(5);
    let (c, r) = pk.encrypt(&m, &mut rng).unwrap();
    measure("encrypt", 30, || {
        pk.encrypt(&m, &mut rng).unwrap();
    });
    measure("decrypt", 100, || {
        sk.decrypt(&c).unwrap();
    });
    measure("decrypt_textbook", 10, || {
        sk.decrypt_textbook(&c).unwrap();
    });
    measure("recover", 100, || {
        sk.recover_randomness(&c).unwrap();
    });
    measure("validate", 100, || {
        pk.validate_ciphertext(&c).unwrap();
    });
    let set: Vec<Plaintext> = (0..10u64).map(Plaintext::from).collect();
    let p = MembershipProof::prove(b"x", &pk, &c, &set, 5, &r, &mut rng).unwrap();
    measure("prove10", 3, || {
        MembershipProof::prove(b"x", &pk, &c, &set, 5, &r, &mut rng).unwrap();
    });
    measure("verify10", 3, || {
        p.verify(b"x", &pk, &c, &set).unwrap();
    });
}
