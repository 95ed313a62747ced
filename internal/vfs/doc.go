// Package vfs is the file system layer of the storage engine. Segment
// logs, index files, checkpoints and the metadata WAL do all their file
// I/O through the FS and File interfaces, so tests can swap the real disk
// for an in-memory file system that simulates power loss, and can inject
// I/O errors.
//
// # Implementations
//
//   - Default / NewOS: the operating system. File.Sync is fdatasync(2),
//     SyncDir opens the directory and fsyncs it, Lock is flock(2). The
//     *os.File of an OS file is reachable with OSFile (for sendfile).
//   - NewMem: MemFS, an in-memory file system that tracks durability
//     exactly as described below and produces post-crash images with
//     CrashClone.
//   - WithErrors: ErrorFS, a wrapper around any FS that makes chosen
//     operations on chosen paths fail (EIO by default).
//   - WithCounters: CountingFS, a wrapper around any FS that counts
//     Sync and SyncDir calls (and writes) atomically, for benchmarks
//     that report fsyncs per acknowledged append.
//
// Wrappers compose: WithCounters(WithErrors(NewMem())) is fine.
//
// # Durability model
//
// There are two independent kinds of state, and each becomes durable only
// through its own sync:
//
//  1. File contents. A file (an inode, independent of its names) has a
//     durable image and an ordered list of un-synced operations: writes
//     (offset + bytes) and truncations. File.Sync on any handle of the file
//     applies all of them to the durable image. Creating a file with Create
//     over an existing name is a truncation of that same file.
//  2. Directory entries. Each directory has a durable listing (name ->
//     file or directory) and a live one. Creating a file or directory,
//     Rename, Remove and RemoveAll change live listings only; SyncDir(d)
//     makes d's live listing its durable listing. A rename touches the
//     directory of the old name and that of the new name; both must be
//     synced (one SyncDir when they are the same directory). MkdirAll of
//     a/b/c needs SyncDir of a, a/b (and the parent of a, if a is new).
//
// Consequences: a file whose creation was never made durable vanishes in
// a crash even if its data was synced; a file whose name is durable but
// whose data was never synced comes back empty (or with its previous
// durable contents); the checkpoint pattern "write tmp, Sync tmp, Rename
// tmp over target, SyncDir" leaves the old or the new contents, never a
// mix, whatever the crash point.
//
// # What a crash keeps
//
// MemFS.CrashClone(rng) returns a new MemFS equal to the state after a
// power loss at the moment of the call, starting from the root and
// following durable listings only:
//
//   - Directories revert to their durable listings: un-synced creates are
//     lost, an un-synced rename is undone (the file is back under its old
//     name, and a replaced target is back with its old contents), an
//     un-synced remove is undone. (With CrashOptions.DirOps, a random
//     prefix of each directory's un-synced changes is kept instead.)
//   - Each surviving file has its durable image plus a random prefix of its
//     un-synced operations, in the order they were issued; the first
//     operation not kept, if it is a write, may be torn: a prefix of its
//     bytes, cut at any byte, is applied. Nothing else ever appears: no
//     reordering, no bytes that were never written (gaps left by writing
//     past the end read as zeros, as on a real file system).
//   - Each file's outcome is chosen independently of other files'.
//   - A strict crash (CrashClone(nil), CrashCloneStrict) keeps exactly the
//     durable state and nothing un-synced.
//
// The clone has no open files and no held locks, and shares no memory with
// the original. The original MemFS is not modified by CrashClone and stays
// fully usable, so a test can keep running "the process before the crash"
// and take clones at several points; its open handles keep referring to the
// original only. A given rng seed applied to the same state always yields
// the same clone.
//
// # Failed syncs
//
// An operation failed by ErrorFS is not performed on the wrapped FS, so an
// injected Sync or SyncDir error makes nothing durable. For a MemFS file, a
// failed Sync additionally discards the file's un-synced operations from
// the durable path (Linux marks the pages clean after a writeback error):
// reads still see the data, but no later Sync will persist it and any
// crash loses it. The storage engine must therefore treat everything
// written since the last successful Sync as lost once Sync fails.
//
// # Limits of the model
//
// Cross-directory renames are two independent directory changes: syncing
// only one side can leave a file under both names (as hard links) or under
// neither after a crash; a directory durably listed in two places is
// kept only at its first occurrence in name order. Tears are prefixes of a
// write, not arbitrary sectors. Permissions and modification times are not
// modelled, and there is no Preallocate. MemFS files are capped at 2 GiB
// (EFBIG beyond).
package vfs
