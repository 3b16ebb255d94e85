//! Runs a function over a slice on a few scoped threads, one contiguous chunk each.
//!
//! A one-shot CLI pays for every thread it starts, so there is no pool: a file big
//! enough to split gets one thread per chunk for the length of one call. Chunks
//! keep document order, so the first error reported is the first in the file.
//! Helper threads are counted process-wide and capped at one per core besides the
//! callers, so callers that already run in parallel (`rotate --all`, the
//! controllers) do not multiply threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Applies `f` to every item and returns the results in item order, or the first
/// error in item order. Uses up to one thread per core, each with at least
/// `min_per_thread` items; the calling thread takes the first chunk.
pub(crate) fn try_map<T, R, E, F>(items: &mut [T], min_per_thread: usize, f: F) -> Result<Vec<R>, E>
where
    T: Send,
    R: Send,
    E: Send,
    F: Fn(&mut T) -> Result<R, E> + Sync,
{
    let wanted = thread_count(items.len(), min_per_thread);
    let grant = HelperGrant::reserve(wanted.saturating_sub(1));
    if grant.0 == 0 {
        return items.iter_mut().map(&f).collect();
    }
    let chunk_len = items.len().div_ceil(grant.0 + 1);
    std::thread::scope(|scope| {
        let mut chunks = items.chunks_mut(chunk_len);
        let first = chunks.next().unwrap_or_default();
        let f = &f;
        let helpers: Vec<_> = chunks
            .map(|chunk| {
                scope.spawn(move || chunk.iter_mut().map(f).collect::<Result<Vec<R>, E>>())
            })
            .collect();
        let mut results = first.iter_mut().map(f).collect::<Result<Vec<R>, E>>();
        for helper in helpers {
            let part = helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let Ok(all) = &mut results {
                match part {
                    Ok(mut part) => all.append(&mut part),
                    Err(e) => results = Err(e),
                }
            }
        }
        results
    })
}

/// How many threads `items` items deserve: one per `min_per_thread`, at most one per core.
fn thread_count(items: usize, min_per_thread: usize) -> usize {
    match items / min_per_thread.max(1) {
        // Small inputs never ask for the core count (it reads cgroup files).
        0 | 1 => 1,
        wanted => wanted.min(cores()),
    }
}

/// Helper threads running now, in the whole process.
static HELPERS: AtomicUsize = AtomicUsize::new(0);

/// Helper threads reserved for one call; given back when dropped.
struct HelperGrant(usize);

impl HelperGrant {
    /// Up to `wanted` helpers, as many as are free under the cap of one per core
    /// besides the calling thread.
    fn reserve(wanted: usize) -> HelperGrant {
        if wanted == 0 {
            return HelperGrant(0);
        }
        let cap = cores().saturating_sub(1);
        let mut running = HELPERS.load(Ordering::Relaxed);
        loop {
            let granted = wanted.min(cap.saturating_sub(running));
            if granted == 0 {
                return HelperGrant(0);
            }
            match HELPERS.compare_exchange_weak(
                running,
                running + granted,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return HelperGrant(granted),
                Err(now) => running = now,
            }
        }
    }
}

impl Drop for HelperGrant {
    fn drop(&mut self) {
        HELPERS.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// Cores available to this process, looked up once (it reads cgroup files).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The helper count is process-wide: these tests take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn results_keep_item_order_across_threads() {
        let _turn = serial();
        let mut items: Vec<u32> = (0..10_000).collect();
        let out: Result<Vec<u32>, ()> = try_map(&mut items, 100, |x| {
            *x += 1;
            Ok(*x * 2)
        });
        let expected: Vec<u32> = (1..=10_000).map(|x| x * 2).collect();
        assert_eq!(out.unwrap(), expected);
        assert_eq!(items, (1..=10_000).collect::<Vec<u32>>());
    }

    #[test]
    fn the_first_error_in_item_order_wins() {
        let _turn = serial();
        let mut items: Vec<u32> = (0..10_000).collect();
        let out: Result<Vec<()>, u32> = try_map(&mut items, 100, |x| {
            if *x % 3000 == 2999 {
                Err(*x)
            } else {
                Ok(())
            }
        });
        assert_eq!(out.unwrap_err(), 2999);
    }

    #[test]
    fn helpers_are_capped_across_callers_and_given_back() {
        let _turn = serial();
        let cap = cores() - 1;
        let first = HelperGrant::reserve(cap + 5);
        assert_eq!(
            first.0, cap,
            "never more helpers than cores besides the caller"
        );
        let second = HelperGrant::reserve(3);
        assert_eq!(
            second.0, 0,
            "a second caller gets none while the first holds them"
        );
        drop(second);
        drop(first);
        let again = HelperGrant::reserve(cap + 5);
        assert_eq!(again.0, cap, "given back on drop");
    }

    #[test]
    fn few_items_stay_on_the_calling_thread() {
        let _turn = serial();
        let caller = std::thread::current().id();
        let mut items = vec![0u8; 10];
        let out: Result<Vec<bool>, ()> = try_map(&mut items, 100, |_| {
            Ok(std::thread::current().id() == caller)
        });
        assert!(out.unwrap().into_iter().all(|same| same));
    }
}
