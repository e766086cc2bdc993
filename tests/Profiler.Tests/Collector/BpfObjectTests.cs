namespace Profiler.Tests.Collector;

public sealed class BpfObjectTests
{
    [Fact]
    public void Rebuilding_the_bpf_object_with_the_pinned_clang_gives_the_committed_bytes()
    {
        var src = Path.Combine(RepoRoot.Path, "collectors", "bpf");
        var tmp = Directory.CreateTempSubdirectory("memprof-bpf");
        foreach (var f in new[] { "memprof.bpf.c", "memprof.h", "memprof_shared.h", "Makefile" })
            File.Copy(Path.Combine(src, f), Path.Combine(tmp.FullName, f));
        var make = ProcessRunner.Run("make", ["-s", "-C", tmp.FullName, "memprof.bpf.o"]);
        Assert.True(make.ExitCode == 0, make.Describe("failed (is clang-14 installed? scripts/install-deps.sh installs it)"));
        var rebuilt = File.ReadAllBytes(Path.Combine(tmp.FullName, "memprof.bpf.o"));
        var committed = File.ReadAllBytes(Path.Combine(src, "memprof.bpf.o"));
        tmp.Delete(recursive: true);
        Assert.True(committed.AsSpan().SequenceEqual(rebuilt),
            "collectors/bpf/memprof.bpf.o is stale: run `make -C collectors/bpf` and commit the object");
    }
}
