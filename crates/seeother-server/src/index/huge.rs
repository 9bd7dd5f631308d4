//! Huge pages for the packed table, asked for once it is built.
//!
//! A lookup in a table of a million rules reads a record and a rule's text at random places
//! in well over 100 MB: with 4 KiB pages nearly every lookup misses the TLB twice, and each
//! miss is a page walk (two-dimensional under a hypervisor). Backed by 2 MiB pages, the
//! whole table fits in the TLB. The pages are collapsed after loading (Linux's
//! `MADV_COLLAPSE`, 6.1 and later) rather than asked for before the table is written
//! (`MADV_HUGEPAGE`), which stalled start-up in compaction for up to a second.

/// Size of a huge page on x86-64 and most arm64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// Back the whole huge pages inside `items` with huge pages, if the kernel can. Best effort
/// and slow (the kernel copies the memory): call it off the serving threads. Gives how many
/// bytes it asked for.
pub(super) fn collapse<T>(items: &[T]) -> usize {
    let at = items.as_ptr() as usize;
    let start = at.next_multiple_of(HUGE_PAGE);
    let end = (at + std::mem::size_of_val(items)) / HUGE_PAGE * HUGE_PAGE;
    if end <= start {
        return 0;
    }
    advise(start, end - start);
    end - start
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn advise(start: usize, len: usize) {
    // SAFETY: the range lies inside `items`, memory this process owns and keeps mapped for
    // the call; MADV_COLLAPSE changes how it is backed, never its contents. A kernel without
    // it (EINVAL) or without free huge pages (EAGAIN, ENOMEM) leaves it as it was.
    let r = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_COLLAPSE) };
    if r != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "huge pages not given");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn advise(_start: usize, _len: usize) {}
