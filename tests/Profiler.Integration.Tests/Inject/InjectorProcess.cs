using Profiler.Collectors.Linux.Inject;

namespace Profiler.Integration.Tests.Inject;

/// <summary>This assembly run as a program: a stand-in for memprof that loads a library into a
/// process and then waits to be killed, so a test can kill the loader at a moment of its choosing.
/// `dotnet Profiler.Integration.Tests.dll inject PID LIBRARY` prints "loaded TID" or "failed
/// REASON", then sleeps. Without arguments it does nothing (the test host loads the assembly).</summary>
public static class InjectorProcess
{
    public static int Main(string[] args)
    {
        if (args is not ["inject", var pid, var library]) return 0;
        Console.Out.WriteLine("started");
        Console.Out.Flush();
        var result = new RemoteLoader().Load(int.Parse(pid), library);
        Console.Out.WriteLine(result.Loaded ? $"loaded {result.Tid}" : $"failed {result.Failure}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>Starts the stand-in on this assembly, with the host that runs the tests.</summary>
    public static System.Diagnostics.Process Start(int pid, string library)
    {
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var psi = new System.Diagnostics.ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["exec", typeof(InjectorProcess).Assembly.Location, "inject", pid.ToString(), library]) psi.ArgumentList.Add(arg);
        return System.Diagnostics.Process.Start(psi)!;
    }
}
