/**
 * A small tmpfs of the test's own under a fresh temp folder, for database faults on SQLite: filled
 * to its last page (disk full), grown again, remounted read-only and read-write, and always
 * unmounted. Mounting needs root (CI runs as root); `probe` says why not, so that a test can skip
 * with its reason instead of failing.
 */
import { execFileSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const mount = (args: ReadonlyArray<string>): void => {
  execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"] })
}

const reasonOf = (error: unknown): string => {
  const stderr = (error as { readonly stderr?: Buffer | string }).stderr
  return String(stderr !== undefined && String(stderr).trim() !== "" ? stderr : error).trim()
}

/** Mounts and unmounts a 64 KiB tmpfs once: undefined when that works, else why not. */
export const probe = (): string | undefined => {
  const folder = mkdtempSync(join(tmpdir(), "linecast-tmpfs-probe-"))
  try {
    mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", folder])
    execFileSync("umount", [folder])
    return undefined
  } catch (error) {
    return `cannot mount a tmpfs (${reasonOf(error)}); this test needs root`
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

export interface Tmpfs {
  readonly folder: string
  /** Writes a filler file until the file system is full; the bytes written. */
  readonly fill: () => number
  /** Removes the filler. */
  readonly drain: () => void
  /** `mount -o remount,size=…`: more room without touching what is there. */
  readonly grow: (sizeKiB: number) => void
  readonly readOnly: () => void
  readonly readWrite: () => void
  /** Free bytes. */
  readonly free: () => number
  /** Unmounts (lazily if still busy) and removes the folder; safe to call twice. */
  readonly unmount: () => void
}

const mounted = new Set<Tmpfs>()

/** Unmounts every tmpfs still mounted (a test's `afterAll`, whatever happened before). */
export const unmountAll = (): void => {
  for (const tmpfs of [...mounted]) tmpfs.unmount()
}

export const mountTmpfs = (sizeKiB: number): Tmpfs => {
  const folder = mkdtempSync(join(tmpdir(), "linecast-tmpfs-"))
  mount(["-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", folder])
  const filler = join(folder, "filler")
  let unmounted = false
  const tmpfs: Tmpfs = {
    folder,
    fill: () => {
      const fd = openSync(filler, "a")
      let written = 0
      try {
        // Page by page down to single bytes, so that nothing is left for the database to take.
        for (const size of [65_536, 4_096, 512, 1]) {
          const chunk = Buffer.alloc(size, 1)
          for (;;) {
            try {
              written += writeSync(fd, chunk)
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === "ENOSPC") break
              throw error
            }
          }
        }
      } finally {
        closeSync(fd)
      }
      return written
    },
    drain: () => rmSync(filler, { force: true }),
    grow: (size) => mount(["-o", `remount,size=${size}k`, folder]),
    readOnly: () => mount(["-o", "remount,ro", folder]),
    readWrite: () => mount(["-o", "remount,rw", folder]),
    free: () => {
      const stats = statfsSync(folder)
      return stats.bavail * stats.bsize
    },
    unmount: () => {
      if (unmounted) return
      unmounted = true
      mounted.delete(tmpfs)
      try {
        execFileSync("umount", [folder], { stdio: "ignore" })
      } catch {
        // A process of the test's still holds a file there: detach now, freed when it closes.
        execFileSync("umount", ["-l", folder], { stdio: "ignore" })
      }
      rmSync(folder, { recursive: true, force: true })
    }
  }
  mounted.add(tmpfs)
  return tmpfs
}
