using System.Diagnostics;
using Profiler.Symbols.Unwinding;
using Profiler.Tests;
using Profiler.Tests.Unwinding;

// Frames per second of the DWARF unwinder on real stacks: the Rust sample without frame pointers,
// stopped under gdb at malloc and free (stacks through Rust, glibc, down to _start or clone3).
//   cold: a fresh table cache per round, so every module is loaded and every row computed;
//   warm: one unwinder for the whole run, as the collector uses it;
//   warm, no row cache: FDE search and CFA program on every frame.
string sample = Path.Combine(RepoRoot.Path, "samples", "bin", "allocs-nofp");
GdbStop[][] points =
[
    [new("allocs::leak_leaf"), new("*malloc")],
    [new("allocs::churn"), new("*free")],
    [new("allocs::thread_worker"), new("*malloc")],
    [new("allocs::peak_build"), new("*malloc", SkipInstructions: 2)],
    [new("*allocs::leak_leaf", SkipInstructions: 1)],
];
Console.WriteLine($"capturing {points.Length} stacks of {sample} under gdb...");
var stacks = points.Select(stops =>
{
    var capture = GdbStackCapture.Capture(sample, [], stops);
    return (Capture: capture, Modules: new SortedModuleLookup(capture.ExecutableModules()),
        Registers: capture.SampledRegisters(withCalleeSaved: false));
}).ToArray();

var pcs = new ulong[256];
int UnwindAll(StackUnwinder unwinder)
{
    int frames = 0;
    foreach (var (capture, modules, registers) in stacks)
    {
        var result = unwinder.Unwind(registers, capture.Stack, capture.StackAddress, modules, pcs);
        if (!result.IsComplete)
            throw new InvalidOperationException($"stack at {capture.Frames[0].Name} ended with {result.End}");
        frames += result.FrameCount;
    }
    return frames;
}

int framesPerRound = UnwindAll(new StackUnwinder(new UnwindTableCache()));
Console.WriteLine($"{framesPerRound} frames per round ({string.Join(", ", stacks.Select(s => s.Capture.PhysicalFrames.Count))})");

void Measure(string name, Func<StackUnwinder> unwinderForRound, bool shareUnwinder, TimeSpan duration)
{
    var shared = shareUnwinder ? unwinderForRound() : null;
    if (shared is not null)
        UnwindAll(shared);
    long frames = 0, rounds = 0;
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < duration)
    {
        frames += UnwindAll(shared ?? unwinderForRound());
        rounds++;
    }
    clock.Stop();
    double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    double seconds = clock.Elapsed.TotalSeconds;
    // CPU time as well as wall time: on a shared machine the wall clock also counts time spent waiting.
    long stackCount = rounds * stacks.Length;
    Console.WriteLine($"{name,-20} {frames / seconds,12:N0} frames/s {seconds * 1e9 / frames,9:N1} ns/frame " +
        $"({cpu * 1e9 / frames,9:N1} CPU) {seconds * 1e6 / stackCount,8:N2} µs/stack " +
        $"{allocated / (double)stackCount,9:N0} B allocated/stack");
}

// What a module costs the first time it is seen: reading its ELF headers and copying its CFI sections.
var files = stacks.SelectMany(s => s.Modules.Modules).Select(m => (m.Path, m.BuildId)).Distinct().ToArray();
var loadClock = Stopwatch.StartNew();
int loads = 0;
while (loadClock.Elapsed < TimeSpan.FromSeconds(1))
{
    var cache = new UnwindTableCache();
    foreach (var (path, buildId) in files)
        cache.Get(path, buildId);
    loads += files.Length;
}
Console.WriteLine($"module load: {loadClock.Elapsed.TotalMilliseconds / loads:N2} ms per file " +
    $"({string.Join(", ", files.Select(f => Path.GetFileName(f.Path)))})");

var duration = TimeSpan.FromSeconds(args.Length > 0 ? double.Parse(args[0]) : 3);
Measure("cold (new cache)", () => new StackUnwinder(new UnwindTableCache()), shareUnwinder: false, duration);
Measure("warm", () => new StackUnwinder(new UnwindTableCache()), shareUnwinder: true, duration);
Measure("warm, no row cache", () => new StackUnwinder(new UnwindTableCache(rowCacheSize: 0)), shareUnwinder: true, duration);
