using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Resolution;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Dwarf;

/// <summary>The resolver shared between threads, and its batch API, answer exactly as one thread
/// resolving one address at a time does, on a fresh resolver each (so that the lazily read units
/// are read concurrently).</summary>
public sealed class ResolverBatchTests
{
    [Fact]
    public void ResolveMany_answers_each_request_as_Resolve_does()
    {
        SystemTools.Require(["nm"]);
        var requests = Requests(RustSampleSymbolizationTests.SamplePath("allocs-nofp"), 3000);

        var sequential = ResolveOneByOne(requests);
        using var batchResolver = new ElfFrameResolver();
        var batch = batchResolver.ResolveMany(requests);

        Assert.Equal(requests.Count, batch.Length);
        for (int i = 0; i < requests.Count; i++)
            Assert.Equal(sequential[i], batch[i]);
        Assert.Contains(batch, frames => frames.Count > 1);
    }

    [Fact]
    public void Threads_racing_on_one_resolver_get_the_same_frames()
    {
        SystemTools.Require(["nm"], SystemTools.Libc);
        var requests = Requests(RustSampleSymbolizationTests.SamplePath("allocs-fp"), 1500)
            .Concat(Requests(SystemTools.Libc, 1500, symbolFile: LibcSymbols())).ToList();
        var sequential = ResolveOneByOne(requests);

        using var shared = new ElfFrameResolver();
        var results = new IReadOnlyList<ResolvedFrame>[requests.Count];
        // Several threads start on the same addresses at once, in different orders.
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            for (int k = 0; k < requests.Count; k++)
            {
                int i = worker % 2 == 0 ? k : requests.Count - 1 - k;
                var frames = shared.Resolve(requests[i].Module, requests[i].LookupOffset, requests[i].FileOffset);
                if (worker == 0)
                    results[i] = frames;
                else
                    Assert.Equal(sequential[i], frames);
            }
        });
        for (int i = 0; i < requests.Count; i++)
            Assert.Equal(sequential[i], results[i]);
    }

    private static string LibcSymbols()
    {
        using var libc = ElfFile.Open(SystemTools.Libc);
        string id = libc.BuildId ?? throw new InvalidOperationException($"{SystemTools.Libc} has no build id");
        string debugFile = $"/usr/lib/debug/.build-id/{id[..2]}/{id[2..]}.debug";
        Assert.True(File.Exists(debugFile), $"{debugFile} is missing: install libc6-dbg (scripts/install-deps.sh)");
        return debugFile;
    }

    private static List<FrameRequest> Requests(string path, int count, string? symbolFile = null)
    {
        using var elf = ElfFile.Open(path);
        var module = new MappedModule(path, elf.BuildId ?? "", 0x7f00_0000_0000, 0x7f00_1000_0000, 0);
        return SymbolizerAgreement.SampleAddresses(symbolFile ?? path, count)
            .Select(address => elf.VirtualAddressToFileOffset(address)!.Value)
            .Select(offset => new FrameRequest(module, offset, offset + 1))
            .ToList();
    }

    private static List<IReadOnlyList<ResolvedFrame>> ResolveOneByOne(List<FrameRequest> requests)
    {
        using var resolver = new ElfFrameResolver();
        return requests.ConvertAll(r => resolver.Resolve(r.Module, r.LookupOffset, r.FileOffset));
    }
}
