using Profiler.Firefox;

namespace Profiler.Tests.Firefox;

/// <summary>Profiles built with <see cref="ProfileBuilder"/> whose totals are known.</summary>
static class ExampleProfiles
{
    public const long Pid = 4242;

    /// <summary>The events of fixtures/example-native-allocs.v70.json: Retained 6,144 B, Allocated 11,776 B.</summary>
    public static ProfileBuilder LikeTheFixture()
    {
        var builder = new ProfileBuilder("example-app (native memory)", startTimeEpochMs: 1763900000000) { Oscpu = "Linux x86_64", Abi = "x86_64" };
        var app = builder.AddLib(new LibInfo("example-app", "/opt/example/example-app", "example-app", "/opt/example/example-app",
            "0123456789ABCDEF0123456789ABCDEF0", null, "x86_64"));
        var libc = builder.AddLib(new LibInfo("libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libc.so.6", "FEDCBA9876543210FEDCBA98765432100", null, "x86_64"));
        var process = builder.AddProcess(Pid, "example-app", startTimeMs: 0);
        var main = builder.AddThread(process, Pid, "main", isMain: true);

        var mainFrame = builder.InternFrame(builder.InternFunc("main", app, "/src/example/main.c", 10), 4432, line: 15);
        var handleRequest = builder.InternFunc("handle_request", app, "/src/example/server.c", 42);
        var requestFrame = builder.InternFrame(handleRequest, 4896, line: 50);
        var bufferFrame = builder.InternFrame(builder.InternFunc("alloc_buffer", app, "/src/example/buffer.c", 7), 5136, line: 9);
        var jsonFrame = builder.InternFrame(builder.InternFunc("parse_json", app, "/src/example/json.c", 88), 5408, line: 95);
        var mallocFrame = builder.InternFrame(builder.InternFunc("malloc", libc), 630992);
        var freeFrame = builder.InternFrame(builder.InternFunc("free", libc), 632576);
        var releaseFrame = builder.InternFrame(handleRequest, 5000, line: 61);

        var bufferAlloc = builder.InternStack(mainFrame, requestFrame, bufferFrame, mallocFrame);
        var jsonAlloc = builder.InternStack(mainFrame, requestFrame, jsonFrame, mallocFrame);
        var release = builder.InternStack(mainFrame, releaseFrame, freeFrame);

        const ulong a = 94355073273856, b = 94355073278976, c = 94355073282048, d = 94355073288192;
        builder.AddAllocation(main, 1, 4096, bufferAlloc, a, Pid);
        builder.AddAllocation(main, 2, 1024, jsonAlloc, b, Pid);
        builder.AddAllocation(main, 3, 4096, bufferAlloc, c, Pid);
        builder.AddAllocation(main, 4, -1024, release, b, Pid);
        builder.AddAllocation(main, 5, 512, jsonAlloc, d, Pid);
        builder.AddAllocation(main, 6, -4096, release, a, Pid);
        builder.AddAllocation(main, 7, 2048, jsonAlloc, b, Pid);
        builder.AddAllocation(main, 8, -512, release, d, Pid);

        var malloc = builder.AddMemoryCounter(process, "malloc", "Net bytes allocated since the previous sample");
        long[] deltas = [0, 4096, 1024, 4096, -1024, 512, -4096, 2048, -512];
        for (var time = 0; time < deltas.Length; time++) builder.AddCounterSample(malloc, time, deltas[time], time == 0 ? 0 : 1);
        return builder;
    }

    public sealed record Expected(long RetainedBytes, long AllocatedBytes);

    /// <summary>
    /// A process whose worker thread allocates and frees too: every event sits in the main thread's
    /// table (frees only pair within one table) with the acting thread in threadId. Events are
    /// added out of time order, and one allocation is freed in the same millisecond.
    /// </summary>
    public static (ProfileBuilder Builder, Expected Expected) TwoThreads()
    {
        const long pid = 100, worker = 101;
        var builder = new ProfileBuilder("two-threads", startTimeEpochMs: 1_700_000_000_000);
        var lib = builder.AddLib(new LibInfo("app", "/usr/bin/app", "app", "/usr/bin/app", "00112233445566778899AABBCCDDEEFF0", "00112233", "x86_64"));
        var process = builder.AddProcess(pid, "app", startTimeMs: 0);
        var main = builder.AddThread(process, pid, "app", isMain: true);
        builder.AddThread(process, worker, "worker", isMain: false);
        var make = builder.InternStack(builder.InternFrame(builder.InternFunc("app::make_buffer", lib, "src/buffer.rs", 3), 0x1200, line: 5));
        var drop = builder.InternStack(builder.InternFrame(builder.InternFunc("app::drop_buffer", lib, "src/buffer.rs", 20), 0x1400, line: 22));

        builder.AddAllocation(main, 6, 700, make, 0x2000, worker);    // reuses a freed address: retained
        builder.AddAllocation(main, 1, 1000, make, 0x1000, pid);      // retained
        builder.AddAllocation(main, 2, 300, make, 0x2000, worker);
        builder.AddAllocation(main, 3, -300, drop, 0x2000, pid);      // freed by the other thread
        builder.AddAllocation(main, 4, 50, make, 0x3000, pid);
        builder.AddAllocation(main, 5, -50, drop, 0x3000, worker);    // freed by the other thread
        builder.AddAllocation(main, 7, 64, make, 0x4000, worker);
        builder.AddAllocation(main, 7, -64, drop, 0x4000, worker);    // freed in the same millisecond
        builder.AddAllocation(main, 8, -999, drop, 0x5000, pid);      // never allocated here: ignored

        var counter = builder.AddMemoryCounter(process, "malloc", "Net bytes allocated since the previous sample");
        builder.AddCounterSample(counter, 0, 0, 0);
        builder.AddCounterSample(counter, 8, 1700, 9);
        builder.AddMarker(main, "Peak", 7, bytes: 1764, detail: "largest heap of the run");
        return (builder, new Expected(RetainedBytes: 1000 + 700, AllocatedBytes: 700 + 1000 + 300 + 50 + 64));
    }
}
