using Profiler.Collectors.Linux.Inject;

namespace Profiler.Tests.Collector.Inject;

/// <summary>waitpid statuses decoded as the C library's own macros read them.</summary>
public sealed class PtraceStatusTests
{
    [Fact]
    public void Statuses_decode_as_the_wait_macros_read_them()
    {
        int[] statuses =
        [
            0x0000,                       // exited 0
            0x0300,                       // exited 3
            0x0009,                       // killed by SIGKILL
            0x0085,                       // killed by SIGTRAP, core dumped
            0x057f,                       // signal-delivery stop, SIGTRAP
            0x177f,                       // signal-delivery stop, SIGURG
            0x80057f,                     // PTRACE_EVENT_STOP with SIGTRAP: an interrupt
            0x80137f,                     // PTRACE_EVENT_STOP with SIGSTOP: job control
            0x857f,                       // system-call stop (SIGTRAP | 0x80)
        ];
        var dir = Directory.CreateTempSubdirectory("memprof-wait");
        var source = Path.Combine(dir.FullName, "wait.c");
        File.WriteAllText(source, """
            #include <stdio.h>
            #include <stdlib.h>
            #include <sys/wait.h>
            /* For each status: gone/stopped, the signal, the ptrace event. */
            int main(int argc, char **argv) {
                for (int i = 1; i < argc; i++) {
                    int s = (int)strtol(argv[i], NULL, 0);
                    if (WIFEXITED(s)) printf("gone 0 0\n");
                    else if (WIFSIGNALED(s)) printf("gone %d 0\n", WTERMSIG(s));
                    else if (WIFSTOPPED(s)) printf("stopped %d %d\n", WSTOPSIG(s), s >> 16);
                }
                return 0;
            }
            """);
        string exe = Path.Combine(dir.FullName, "wait");
        Run("cc", "-o", exe, source);
        var oracle = Run(exe, [.. statuses.Select(s => "0x" + s.ToString("x"))]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        dir.Delete(recursive: true);

        for (int i = 0; i < statuses.Length; i++)
        {
            var parts = oracle[i].Split(' ');
            int signal = int.Parse(parts[1]), ev = int.Parse(parts[2]);
            var expected = parts[0] == "gone" ? new PtraceStatus(PtraceStopKind.Gone, signal)
                : signal == 0x85 ? new PtraceStatus(PtraceStopKind.SystemCall, 0)
                : ev == 128 && signal == 5 ? new PtraceStatus(PtraceStopKind.Interrupt, 0)
                : ev == 128 ? new PtraceStatus(PtraceStopKind.GroupStop, signal)
                : new PtraceStatus(PtraceStopKind.Signal, signal);
            Assert.Equal(expected, PtraceStatus.Decode(statuses[i]));
        }
        // The oracle saw each kind at least once.
        Assert.Equal(5, statuses.Select(PtraceStatus.Decode).Select(s => s.Kind).Distinct().Count());
    }

    static string Run(string file, params string[] args) => ProcessRunner.RunChecked(file, args).Stdout;
}
