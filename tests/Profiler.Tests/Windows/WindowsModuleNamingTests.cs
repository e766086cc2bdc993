using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;

namespace Profiler.Tests.Windows;

/// <summary>Windows recordings read on Linux: module names, Breakpad ids and heap frames.</summary>
public sealed class WindowsModuleNamingTests
{
    [Theory]
    [InlineData(@"C:\app\allocs.exe", "allocs.exe")]
    [InlineData(@"\\server\share\lib.dll", "lib.dll")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6")]
    public void Module_names_split_on_the_recording_systems_separator(string path, string name) =>
        Assert.Equal(name, new ModuleInfo(path, "").Name);

    [Fact]
    public void A_PE_build_id_is_already_a_Breakpad_id_while_an_ELF_one_is_byte_swapped()
    {
        const string pe = "6b1e7f2a3c4d4e5f8a9b0c1d2e3f4a5b1";
        Assert.Equal(pe.ToUpperInvariant(), FirefoxExporter.BreakpadId(pe, isPe: true));
        // ELF: the first 16 bytes as a little-endian GUID, age 0 (what dump_syms and samply do).
        Assert.Equal("2A7F1E6B4D3C5F4E8A9B0C1D2E3F4A5B0", FirefoxExporter.BreakpadId("6b1e7f2a3c4d4e5f8a9b0c1d2e3f4a5b9999aaaa"));
    }

    [Theory]
    [InlineData("RtlpAllocateHeapInternal")]
    [InlineData("HeapAlloc")]
    [InlineData("RtlpLogHeapAllocateEvent")]
    public void Windows_heap_frames_are_allocator_frames(string name) => Assert.True(AllocatorFrames.IsAllocator(name));
}
