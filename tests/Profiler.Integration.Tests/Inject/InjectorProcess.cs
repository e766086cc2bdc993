using Profiler.Collectors.Linux.Inject;

namespace Profiler.Integration.Tests.Inject;

/// <summary>This assembly run as a program: a stand-in for memprof that loads a library into a
/// process the way memprof does (through its loader process) and then waits to be killed, so a
/// test can kill it at a moment of its choosing.
/// `dotnet Profiler.Integration.Tests.dll inject PID LIBRARY` prints "started", then "loaded TID"
/// or "failed REASON", then sleeps. Without arguments it does nothing (the test host loads the assembly).</summary>
public static class InjectorProcess
{
    public static int Main(string[] args)
    {
        if (args is ["churn-probe", var churned, var path, var offsets]) return ProbeChurn.Run(int.Parse(churned), path, offsets);
        if (args is not ["inject", var pid, var library]) return 0;
        Console.Out.WriteLine("started");
        Console.Out.Flush();
        var result = RemoteLoaderProcess.Memprof().Load(int.Parse(pid), library);
        Console.Out.WriteLine(result.Loaded ? $"loaded {result.Tid}" : $"failed {result.Failure}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>Starts the stand-in on this assembly, with the host that runs the tests.</summary>
    public static RunningProcess Start(int pid, string library)
    {
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        return RunningProcess.Start(host, ["exec", typeof(InjectorProcess).Assembly.Location, "inject", pid.ToString(), library]);
    }
}
