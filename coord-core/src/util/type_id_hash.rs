//! A hasher for `TypeId` keys.

/// Hashing for `TypeId` keys: a `TypeId` is already a hash, so the default
/// SipHash only adds time to every lookup.
#[derive(Default, Clone, Copy)]
pub(crate) struct TypeIdHash;

impl std::hash::BuildHasher for TypeIdHash {
    type Hasher = TypeIdHasher;

    fn build_hasher(&self) -> TypeIdHasher {
        TypeIdHasher(0)
    }
}

pub(crate) struct TypeIdHasher(u64);

impl std::hash::Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // TypeId hashes itself as integer writes; keep this general anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= (n as u64) ^ ((n >> 64) as u64);
    }
}
