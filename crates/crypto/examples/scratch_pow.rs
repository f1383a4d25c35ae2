use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams, FixedMontyForm, FixedMontyParams};
use crypto_bigint::{BoxedUint, Odd, Uint, U2048, U4096};
use std::time::Instant;

fn main() {
    // pseudo-random odd modulus of 4096 bits and 2048-bit exponent
    let mut words = [0u64; 64];
    let mut s = 0x1234_5678_9abc_def1u64;
    for w in words.iter_mut() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        *w = s;
    }
    words[0] |= 1;
    words[63] |= 1 << 63;
    let m = U4096::from_words(words);
    let e = U2048::from_words(words[..32].try_into().unwrap());
    let base = U4096::from_words({
        let mut b = words;
        b[63] >>= 1;
        b[5] ^= 77;
        b
    });
    let iters = 20;

    let fp = FixedMontyParams::new_vartime(Odd::new(m).unwrap());
    let fb = FixedMontyForm::new(&base, &fp);
    let t = Instant::now();
    let mut r1 = fb;
    for _ in 0..iters {
        r1 = fb.pow(&e);
    }
    println!("fixed pow: {:?}", t.elapsed() / iters);
    let e4: U4096 = e.resize();
    let t = Instant::now();
    let mut r2 = fb;
    for _ in 0..iters {
        r2 = fb.pow_amm_bounded_exp(&e4, 2048);
    }
    println!("fixed pow_amm: {:?}", t.elapsed() / iters);
    assert_eq!(r1.retrieve(), r2.retrieve());

    let bm = BoxedUint::from(&m);
    let bp = BoxedMontyParams::new_vartime(Odd::new(bm).unwrap());
    let bb = BoxedMontyForm::new(BoxedUint::from(&base), &bp);
    let be = BoxedUint::from(&e);
    let t = Instant::now();
    let mut r3 = bb.clone();
    for _ in 0..iters {
        r3 = bb.pow(&be);
    }
    println!("boxed pow: {:?}", t.elapsed() / iters);
    let _ = Uint::<1>::ONE;
    assert_eq!(r3.retrieve(), BoxedUint::from(&r1.retrieve()));
    use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
    use crypto_primes::{is_prime, sieve_and_find, Flavor};
    struct X(u64);
    impl crypto_bigint::rand_core::TryRng for X {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.try_next_u64()? as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            Ok(self.0)
        }
        fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> {
            for b in d {
                *b = self.try_next_u64()? as u8;
            }
            Ok(())
        }
    }
    impl crypto_bigint::rand_core::TryCryptoRng for X {}
    for seed in 1..4u64 {
        let mut rng = X(seed * 0x9e3779b97f4a7c15);
        let t = Instant::now();
        let f = SmallFactorsSieveFactory::<BoxedUint>::new(Flavor::Safe, 1024, SetBits::TwoMsb)
            .unwrap();
        let p = sieve_and_find(&mut rng, f, |_, c| is_prime(Flavor::Safe, c))
            .unwrap()
            .unwrap();
        println!("safe prime {} bits: {:?}", p.bits(), t.elapsed());
        let t = Instant::now();
        let f =
            SmallFactorsSieveFactory::<BoxedUint>::new(Flavor::Any, 1024, SetBits::TwoMsb).unwrap();
        let p = sieve_and_find(&mut rng, f, |_, c| is_prime(Flavor::Any, c))
            .unwrap()
            .unwrap();
        println!("prime {} bits: {:?}", p.bits(), t.elapsed());
    }
}
