/**
 * Wall time beside this process's CPU time (all its threads, onnxruntime's included). On a shared machine the
 * two drift apart when other work takes the cores: CPU well below wall means the process was waiting for them.
 */
export interface Elapsed {
  wallMs: number;
  cpuMs: number;
}

export function startClock(): () => Elapsed {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { wallMs: Math.round(performance.now() - wall), cpuMs: Math.round((used.user + used.system) / 1000) };
  };
}
