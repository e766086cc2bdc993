using Profiler.Collectors.Linux.Inject;

namespace Profiler.Integration.Tests.Inject;

/// <summary>A stand-in for a loader process that registers and releases the safe point's probe
/// over and over (announced the way the loader announces it), so that a SIGKILL at a moment of a
/// test's choosing lands inside a registration or a release: the moments that make the kernel
/// leave the probe's breakpoints behind.
/// `dotnet Profiler.Integration.Tests.dll churn-probe PID PATH OFFSETS-FILE`.</summary>
static class ProbeChurn
{
    public static int Run(int pid, string path, string offsetsFile)
    {
        var offsets = File.ReadAllLines(offsetsFile).Select(l => Convert.ToUInt64(l, 16)).ToList();
        var announced = SafePointProbeNotice.Announcing(Console.Out, SafePointProbe.Create);
        for (int round = 0; ; round++)
        {
            var (probe, refused) = (round == 0 ? announced : SafePointProbe.Create)(pid, path, offsets);
            if (probe is null)
            {
                Console.Out.WriteLine($"refused {refused}");
                return 1;
            }
            if (round == 0) Console.Out.WriteLine("attached");
            Console.Out.Flush();
            probe.Dispose();
        }
    }

    public static RunningProcess Start(int pid, string path, string offsetsFile)
    {
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        return RunningProcess.Start(host, ["exec", typeof(ProbeChurn).Assembly.Location, "churn-probe", pid.ToString(), path, offsetsFile]);
    }
}
