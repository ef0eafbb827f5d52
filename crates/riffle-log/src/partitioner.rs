//! Kafka's default key partitioner.
//!
//! Records with a key must land in the same partition as they would in Kafka
//! so that data written by Riffle and by Kafka clients (and ksqlDB's
//! co-partitioning rules) agree.

/// Kafka's `Utils.murmur2` (the Java client's hash for keyed records), as a
/// signed 32-bit value exactly like the Java method returns.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java uses `int length`; truncation for >2 GiB keys matches its overflow.
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= u32::from(tail[2]) << 16;
        }
        if tail.len() >= 2 {
            h ^= u32::from(tail[1]) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a record with this
/// key: `toPositive(murmur2(key)) % partitions`.
///
/// Returns 0 when `partitions` is 0 (no valid answer exists; callers validate
/// partition counts when topics are created).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    if partitions == 0 {
        return 0;
    }
    ((murmur2(key) as u32) & 0x7fff_ffff) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from Apache Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_kafka_utils_test() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), want, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn murmur2_of_empty_key() {
        // Value published alongside the Kafka vectors by other Java-compatible ports.
        assert_eq!(murmur2(b""), 275_646_681);
    }

    #[test]
    fn partition_uses_to_positive_modulo() {
        // toPositive(-790332482) = 1357151166.
        assert_eq!(partition_for_key(b"foobar", 10), 1_357_151_166 % 10);
        assert_eq!(partition_for_key(b"foobar", 10), 6);
        assert_eq!(partition_for_key(b"foobar", 50), 16);
        assert_eq!(partition_for_key(b"21", 1), 0);
        for n in 1..64 {
            assert!(partition_for_key(b"abc", n) < n);
        }
    }

    #[test]
    fn zero_partitions_does_not_panic() {
        assert_eq!(partition_for_key(b"x", 0), 0);
    }
}
