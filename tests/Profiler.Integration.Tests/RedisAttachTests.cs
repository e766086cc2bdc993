using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Profiler.Collectors.Linux.Inject;
using Profiler.Core.Recording;
using Profiler.Export;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests;

/// <summary>Debian's redis-server (its allocator Debian's libjemalloc.so.2) attached to while
/// redis-benchmark drives it: the sampler is injected, and after the detach redis answers as
/// before, every allocator slot holds its original word, and the sites are redis's own code.</summary>
public sealed class RedisAttachTests(ITestOutputHelper log)
{
    const string Server = "/usr/bin/redis-server", Cli = "/usr/bin/redis-cli", Benchmark = "/usr/bin/redis-benchmark";

    [Fact]
    public void Redis_under_load_is_injected_into_and_healthy_after_the_detach()
    {
        RootRequired.Check();
        Assert.True(File.Exists(Server) && File.Exists(Cli) && File.Exists(Benchmark), "redis-server and redis-tools are needed (scripts/install-deps.sh)");
        var dir = Directory.CreateTempSubdirectory("memprof-redis");
        using var redis = StartServer(dir.FullName, out int port);
        using var memory = ProcMemory.Open(redis.Id);
        var slots = InjectAttachTests.Slots(redis.Id, memory);
        Assert.NotEmpty(slots);

        using var benchmark = ProcessRunner.Start(Benchmark, ["-h", "127.0.0.1", "-p", port.ToString(), "-c", "8", "-n", "100000000", "-q",
            "-t", "set,get,lpush,lpop,incr,sadd,hset", "-d", "64", "-r", "100000", "-l"]);
        Thread.Sleep(500);
        string output = Path.Combine(dir.FullName, "redis.memprof");
        using var memprof = CliRunner.StartOwnProcess("record", "--pid", redis.Id.ToString(), "--duration", "4s", "--no-firefox", "-o", output);
        var result = memprof.WaitForExit(TimeSpan.FromSeconds(180));
        benchmark.Kill();
        Assert.True(result.ExitCode == 0, result.Describe("memprof failed"));
        log.WriteLine(result.Stderr);
        Assert.Contains("probes: in-process sampling injected into the running process", result.Stderr);
        Assert.Contains("libjemalloc.so.2", result.Stderr.Split('\n')[0]);

        // Healthy after the detach: alive, its slots back, answering correctly.
        Assert.False(redis.HasExited, $"redis died: {redis.StandardErrorSoFar}");
        Assert.Equal(slots, InjectAttachTests.Slots(redis.Id, memory));
        // libjemalloc's definitions, redirected while attached, are its file's again.
        Assert.True(Inject.TargetChecks.AssertSymbolTablesMatchFiles(redis.Id) >= 3);
        Assert.Equal("PONG", RedisCli(port, "PING"));
        Assert.Equal("OK", RedisCli(port, "SET", "memprof:key", "after the detach"));
        Assert.Equal("after the detach", RedisCli(port, "GET", "memprof:key"));
        Assert.Equal("3", RedisCli(port, "RPUSH", "memprof:list", "a", "b", "c"));
        Assert.Equal("a\nb\nc", RedisCli(port, "LRANGE", "memprof:list", "0", "-1"));
        var info = RedisCli(port, "INFO").Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains("loading:0", info);
        Assert.Contains(info, l => l.StartsWith("used_memory:", StringComparison.Ordinal) && long.Parse(l.Split(':')[1]) > 0);
        Assert.Contains(info, l => l.StartsWith("total_commands_processed:", StringComparison.Ordinal) && long.Parse(l.Split(':')[1]) > 10_000);

        // Sites: redis's own code (redis-server is redis-check-rdb, whose dynamic symbols are the
        // only names Debian ships: the module API and what redis exports for modules).
        var model = RecordingLoader.Load(output, TextWriter.Null);
        var sites = SiteTotals.Of(model).OrderByDescending(s => s.Value.AllocatedBytes).ToList();
        Assert.NotEmpty(sites);
        log.WriteLine(string.Join("\n", sites.Take(15).Select(s => $"{s.Value.AllocatedBytes,14:N0} B {s.Value.Allocations,8:N0} × {s.Key}")));
        long total = sites.Sum(s => s.Value.AllocatedBytes);
        long inRedis = sites.Where(s => InRedis(model, s.Key)).Sum(s => s.Value.AllocatedBytes);
        Assert.True(inRedis * 10 >= total * 9, $"{inRedis:N0} of {total:N0} B at sites in redis's executable");
        Assert.DoesNotContain(sites, s => s.Key.StartsWith("memprof_", StringComparison.Ordinal) || s.Key.Contains("je_") || s.Key == "malloc");
        redis.Kill();
        dir.Delete(recursive: true);
    }

    /// <summary>An idle redis (no client) calls the allocator too seldom for that safe point: it is
    /// caught waiting in epoll_wait instead, injected into, not probed, and healthy after.</summary>
    [Fact]
    public void Idle_redis_is_injected_into_in_its_wait_in_auto_mode()
    {
        RootRequired.Check();
        Assert.True(File.Exists(Server) && File.Exists(Cli), "redis-server and redis-tools are needed (scripts/install-deps.sh)");
        var dir = Directory.CreateTempSubdirectory("memprof-redis-idle");
        using var redis = StartServer(dir.FullName, out int port);
        using var memory = ProcMemory.Open(redis.Id);
        var slots = InjectAttachTests.Slots(redis.Id, memory);
        string output = Path.Combine(dir.FullName, "idle.memprof");
        using var memprof = CliRunner.StartOwnProcess("record", "--pid", redis.Id.ToString(), "--duration", "2s", "--no-firefox", "-o", output);
        var result = memprof.WaitForExit(TimeSpan.FromSeconds(120));
        log.WriteLine(result.Stderr);
        Assert.True(result.ExitCode == 0, result.Describe("memprof failed"));
        Assert.Contains("probes: in-process sampling injected into the running process", result.Stderr.Split('\n')[0]);

        Assert.False(redis.HasExited, $"redis died: {redis.StandardErrorSoFar}");
        Assert.Equal(slots, InjectAttachTests.Slots(redis.Id, memory));
        Inject.TargetChecks.AssertNotTraced(redis.Id);
        Assert.Equal("PONG", RedisCli(port, "PING"));
        Assert.Equal("OK", RedisCli(port, "SET", "memprof:idle", "after the detach"));
        Assert.Equal("after the detach", RedisCli(port, "GET", "memprof:idle"));
        redis.Kill();
        dir.Delete(recursive: true);
    }

    static bool InRedis(Core.Model.ProfileModel model, string function) =>
        model.Tables.Functions.Any(f => f.Name == function && f.Module is { } m && model.Tables.Module(m).Name.StartsWith("redis-", StringComparison.Ordinal));

    /// <summary>redis-server on a free port of 127.0.0.1, persisting nothing, once it answers PING.</summary>
    static RunningProcess StartServer(string dir, out int port)
    {
        port = FreePort();
        var redis = ProcessRunner.Start(Server, ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", dir, "--daemonize", "no", "--logfile", ""]);
        try { WaitForPong(port); }
        catch { redis.Dispose(); throw; }
        return redis;
    }

    static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    static void WaitForPong(int port)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var ping = ProcessRunner.Run(Cli, ["-h", "127.0.0.1", "-p", port.ToString(), "PING"]);
            if (ping.ExitCode == 0 && ping.Stdout.Trim() == "PONG") return;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"redis never answered: {ping.Stdout}{ping.Stderr}");
            Thread.Sleep(50);
        }
    }

    static string RedisCli(int port, params string[] command) =>
        ProcessRunner.RunChecked(Cli, ["-h", "127.0.0.1", "-p", port.ToString(), .. command]).Stdout.Trim();
}
