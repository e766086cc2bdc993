using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Unwinding;

namespace Profiler.Tests.Unwinding;

/// <summary>What the CFI says of a return address for a frame-pointer walk: the samples built with
/// and without frame pointers, and the outermost frame (_start), as readelf's CFI shows them.</summary>
public sealed class FramePointerRoleTests
{
    const ulong Bias = 0x5555_0000_0000;

    [Theory]
    [InlineData("allocs-fp", "leak_leaf", FramePointerRole.KeepsFramePointer)]
    [InlineData("allocs-nofp", "leak_leaf", FramePointerRole.NoFramePointer)]
    [InlineData("allocs-fp", "_start", FramePointerRole.Outermost)]
    [InlineData("allocs-nofp", "_start", FramePointerRole.Outermost)]
    public void A_return_address_in_a_function_gets_that_functions_role(string sample, string function, FramePointerRole expected)
    {
        var path = Path.Combine(RepoRoot.Path, "samples", "bin", sample);
        Assert.True(File.Exists(path), $"{path} is missing: run samples/build.sh first");
        using var elf = ElfFile.Open(path);
        var symbol = elf.ReadSymbols().First(s => s.IsFunction && s.Size > 16 &&
            (s.Name == function || s.Name.Contains(function.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + function, StringComparison.Ordinal)));
        var load = elf.LoadSegments.First(s => (s.Flags & ElfSegmentFlags.Execute) != 0);
        var module = new MappedModule(path, elf.BuildId ?? "", Bias + (load.VirtualAddress & ~0xfffUL),
            Bias + load.VirtualAddress + load.MemorySize, load.FileOffset & ~0xfffUL);
        var unwinder = new StackUnwinder(new UnwindTableCache());
        // Past the prologue and before the epilogue, where a call's return address lies.
        ulong returnAddress = Bias + symbol.Value + symbol.Size / 2;
        Assert.Equal(expected, unwinder.RoleInFramePointerWalk(returnAddress, new SortedModuleLookup([module])));
        Assert.Null(unwinder.RoleInFramePointerWalk(0x1000, new SortedModuleLookup([module])));
    }
}
