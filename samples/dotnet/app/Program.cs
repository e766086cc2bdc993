// The .NET sample: C# methods with known names call a Rust library whose allocations are known
// exactly (see the manifest), while the program also holds a managed heap of a known size.
//
//   DotnetSample             run the workload once, printing GC.GetTotalMemory figures
//   DotnetSample --manifest  print the workload's exact native ground truth as JSON
//   DotnetSample bench N     the allocation loop alone: N calls of the churn (one malloc and one
//                            free of 4,096 B in Rust each), timed: prints "calls N", "elapsed_s S"
//                            and "ns_per_call NS" (what bench/dotnet.sh compares)
//   DotnetSample serve       print "ready PID", then run the workload once per "run" line on
//                            stdin (answering "done"), or the timed loop per "bench N" line,
//                            until stdin closes
using DotnetSample;

switch (args)
{
    case []:
        Workload.Run(Console.Out);
        return 0;
    case ["--manifest"]:
        Console.Write(Manifest.Json());
        return 0;
    case ["bench", var calls] when long.TryParse(calls, out long n) && n > 0:
        Bench.Run(n, Console.Out);
        return 0;
    case ["serve"]:
        Console.WriteLine($"ready {Environment.ProcessId}");
        while (Console.ReadLine() is { } line)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words is ["bench", var count] && long.TryParse(count, out long n) && n > 0) Bench.Run(n, Console.Out);
            else if (words is ["run"]) Workload.Run(Console.Out);
            else continue;
            Console.WriteLine("done");
        }
        return 0;
    default:
        Console.Error.WriteLine("usage: DotnetSample [--manifest | bench N | serve]");
        return 2;
}
