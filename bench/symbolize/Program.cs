using System.Diagnostics;
using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Resolution;

// Times symbolization of N addresses spread over a binary's functions: cold (a new resolver,
// which opens the file, indexes its DWARF and reads the units the addresses fall in) and warm
// (the same addresses again), one address at a time and as one parallel batch.
//
//   dotnet run -c Release -- BINARY [COUNT] [--symbols FILE] [--symbol-path DIR]...
//
// --symbols: the file whose .symtab lists the functions to sample (for a stripped BINARY, its
// debug file); --symbol-path: extra directories for separate debug files.

if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: Symbolize BINARY [COUNT] [--symbols FILE] [--symbol-path DIR]...");
    return 64;
}
string binary = Path.GetFullPath(args[0]);
int count = args.Length > 1 && int.TryParse(args[1], out int n) ? n : 20_000;
string symbolFile = binary;
var symbolPaths = new List<string>();
for (int i = 1; i < args.Length - 1; i++)
{
    if (args[i] == "--symbols")
        symbolFile = args[++i];
    else if (args[i] == "--symbol-path")
        symbolPaths.Add(args[++i]);
}

var requests = Sample(binary, symbolFile, count, out var describe);
Console.WriteLine(describe);
Console.WriteLine($"{requests.Count:N0} addresses in {requests.Select(r => r.LookupOffset).Distinct().Count():N0} distinct places");
var options = new SymbolOptions { SymbolPaths = symbolPaths };

using (var resolver = new ElfFrameResolver(options))
{
    var cold = Time(() => requests.Select(r => resolver.Resolve(r.Module, r.LookupOffset, r.FileOffset)).ToList());
    Report("one at a time, cold", cold, requests.Count);
    var warm = Time(() => requests.Select(r => resolver.Resolve(r.Module, r.LookupOffset, r.FileOffset)).ToList());
    Report("one at a time, warm", warm, requests.Count);
    foreach (var warning in resolver.Warnings)
        Console.WriteLine($"  warning: {warning}");
}
using (var resolver = new ElfFrameResolver(options))
{
    var cold = Time(() => resolver.ResolveMany(requests).ToList());
    Report($"ResolveMany on {Environment.ProcessorCount} cores, cold", cold, requests.Count);
    var warm = Time(() => resolver.ResolveMany(requests).ToList());
    Report($"ResolveMany on {Environment.ProcessorCount} cores, warm", warm, requests.Count);
}
Console.WriteLine($"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:N0} MB");
return 0;

static List<FrameRequest> Sample(string binary, string symbolFile, int count, out string describe)
{
    using var elf = ElfFile.Open(binary);
    using var symbols = ElfFile.Open(symbolFile);
    var debugSections = symbols.Sections.Where(s => s.Name.StartsWith(".debug_", StringComparison.Ordinal) ||
        s.Name.StartsWith(".zdebug_", StringComparison.Ordinal)).ToList();
    describe = $"{binary}: {new FileInfo(binary).Length / 1e6:N1} MB; debug sections in {symbolFile} " +
        $"{debugSections.Sum(s => (double)s.Size) / 1e6:N1} MB in the file (" +
        string.Join(", ", debugSections.OrderByDescending(s => s.Size).Take(4).Select(s => $"{s.Name} {s.Size / 1e6:N1} MB")) + ")";
    var functions = symbols.ReadSymbols().Where(s => s.IsFunction && s.IsDefined && s.Size > 0 && !s.FromDynamic)
        .DistinctBy(s => s.Value).ToList();
    if (functions.Count == 0)
        throw new InvalidOperationException($"{symbolFile} has no sized functions in .symtab to sample");
    var module = new MappedModule(binary, elf.BuildId ?? "", 0x5500_0000_0000, 0x5600_0000_0000, 0);
    var random = new Random(1);
    var requests = new List<FrameRequest>(count);
    while (requests.Count < count)
    {
        var function = functions[random.Next(functions.Count)];
        ulong address = function.Value + (ulong)random.NextInt64((long)function.Size);
        if (elf.VirtualAddressToFileOffset(address) is { } offset)
            requests.Add(new FrameRequest(module, offset, offset));
    }
    return requests;
}

// CPU time is reported beside wall time: on a shared machine the wall time also counts the
// time other processes held the cores.
static (TimeSpan Elapsed, TimeSpan Cpu, List<IReadOnlyList<ResolvedFrame>> Result) Time(Func<List<IReadOnlyList<ResolvedFrame>>> run)
{
    var process = Process.GetCurrentProcess();
    var cpu = process.TotalProcessorTime;
    var stopwatch = Stopwatch.StartNew();
    var result = run();
    stopwatch.Stop();
    process.Refresh();
    return (stopwatch.Elapsed, process.TotalProcessorTime - cpu, result);
}

static void Report(string what, (TimeSpan Elapsed, TimeSpan Cpu, List<IReadOnlyList<ResolvedFrame>> Result) run, int count)
{
    int withLines = run.Result.Count(f => f.Any(frame => frame.Line is not null));
    double depth = run.Result.Average(f => f.Count);
    Console.WriteLine($"{what,-36} {run.Elapsed.TotalMilliseconds,8:N0} ms wall {run.Cpu.TotalMilliseconds,8:N0} ms CPU  " +
        $"{run.Elapsed.TotalMilliseconds * 1000 / count,7:N1} µs/address  " +
        $"({withLines * 100.0 / count:N0}% with lines, {depth:N2} frames per address)");
}
