// Who used the CPU while the benchmark ran: the machine as a whole (/proc/stat),
// the service's process tree (start.mjs, wrangler, workerd) and this process.
// On a shared machine the rest ("other") explains numbers that look off. Linux
// only; elsewhere every figure is null.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/** USER_HZ: the unit of /proc's CPU times (100 on every mainstream Linux). */
const HZ = 100;

/** {busy, total} CPU ticks of the whole machine since boot, or null. */
function machineTicks() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** utime + stime ticks of `rootPid` and its live descendants, or null. */
function treeTicks(rootPid) {
  try {
    const rows = execFileSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/).map(Number));
    const pids = new Set([rootPid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, ppid] of rows) {
        if (pids.has(ppid) && !pids.has(pid)) {
          pids.add(pid);
          grew = true;
        }
      }
    }
    let ticks = 0;
    for (const pid of pids) {
      try {
        // Fields after the ")" of the command name: state is [0], utime [11], stime [12].
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // exited meanwhile
      }
    }
    return ticks;
  } catch {
    return null;
  }
}

/**
 * Share of all cores' time (0..1) that was busy over the next `ms`, or null.
 * Sampled before the service starts: how much else is running on the machine.
 * @param {number} ms
 */
export async function cpuBusy(ms) {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineTicks();
  return a && b && b.total > a.total ? Math.round(((b.busy - a.busy) / (b.total - a.total)) * 1000) / 1000 : null;
}

/** This process's CPU time in ticks. */
const selfTicks = () => {
  const u = process.cpuUsage();
  return ((u.user + u.system) / 1e6) * HZ;
};

/**
 * Starts a CPU account for the service tree under `servicePid`; `stop()` returns the
 * shares of all cores' time over the interval (0..1): {machine_busy, service, bench, other}.
 * @param {number} servicePid
 */
export function cpuAccount(servicePid) {
  const m0 = machineTicks();
  const s0 = treeTicks(servicePid);
  const b0 = selfTicks();
  return {
    stop() {
      const m1 = machineTicks();
      const s1 = treeTicks(servicePid);
      const b1 = selfTicks();
      if (!m0 || !m1 || s0 === null || s1 === null || m1.total <= m0.total) return null;
      const total = m1.total - m0.total;
      const share = (t) => Math.round((t / total) * 1000) / 1000;
      const busy = m1.busy - m0.busy;
      const service = s1 - s0;
      const bench = b1 - b0;
      return {
        seconds: Math.round((total / HZ / os.cpus().length) * 10) / 10,
        machine_busy: share(busy),
        service: share(service),
        bench: share(bench),
        other: share(Math.max(0, busy - service - bench)),
      };
    },
  };
}
