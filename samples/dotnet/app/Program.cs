// The .NET sample: C# methods with known names call a Rust library whose allocations are known
// exactly (see the manifest), while the program also holds a managed heap of a known size.
//
//   DotnetSample             run the workload once, printing GC.GetTotalMemory figures
//   DotnetSample --manifest  print the workload's exact native ground truth as JSON
//   DotnetSample serve       print "ready PID", then run the workload once per "run" line on
//                            stdin (answering "done"), until stdin closes
using DotnetSample;

switch (args)
{
    case []:
        Workload.Run(Console.Out);
        return 0;
    case ["--manifest"]:
        Console.Write(Manifest.Json());
        return 0;
    case ["serve"]:
        Console.WriteLine($"ready {Environment.ProcessId}");
        while (Console.ReadLine() is { } line)
        {
            if (line.Trim() != "run") continue;
            Workload.Run(Console.Out);
            Console.WriteLine("done");
        }
        return 0;
    default:
        Console.Error.WriteLine("usage: DotnetSample [--manifest | serve]");
        return 2;
}
