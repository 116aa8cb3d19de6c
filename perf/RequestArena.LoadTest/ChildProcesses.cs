using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RequestArena.LoadTest;

/// <summary>
/// The child processes this tool has running (the servers under load, wrk), so that none outlives it: they are killed
/// when the tool exits, whether it returns, or a signal stops it (SIGTERM, SIGINT, SIGHUP, SIGQUIT). A WebDemo child
/// left behind would go on listening on 127.0.0.1 with nothing to stop it.
/// </summary>
internal static class ChildProcesses
{
    private static readonly HashSet<Process> s_running = [];
    private static PosixSignalRegistration[]? s_signals;

    /// <summary>Kills <paramref name="process"/> (and its own children) if this tool exits while it runs.</summary>
    public static void Track(Process process)
    {
        lock (s_running)
        {
            if (s_signals is null)
            {
                // The handlers only kill; the signal's default action (exit) follows them.
                AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
                s_signals =
                [
                    PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => KillAll()),
                    PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => KillAll()),
                    PosixSignalRegistration.Create(PosixSignal.SIGHUP, _ => KillAll()),
                    PosixSignalRegistration.Create(PosixSignal.SIGQUIT, _ => KillAll()),
                ];
            }

            s_running.Add(process);
        }
    }

    /// <summary>Forgets <paramref name="process"/>: it has exited or been stopped by its owner.</summary>
    public static void Untrack(Process process)
    {
        lock (s_running)
        {
            s_running.Remove(process);
        }
    }

    private static void KillAll()
    {
        Process[] running;
        lock (s_running)
        {
            running = [.. s_running];
            s_running.Clear();
        }

        foreach (Process process in running)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
            {
                // Already exited, or no longer ours to kill: nothing is left running either way.
            }
        }
    }
}
