using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Symbols.Resolution;
using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Resolution;

/// <summary>Which symbolizer names a module is decided by what the module is (its recorded path
/// tells a Windows PE image from an ELF file), never by which collector made the recording.</summary>
[Collection(TestProgramCollection.Name)]
public sealed class ModuleFormatResolverTests(TestProgram programs)
{
    [Theory]
    [InlineData(@"C:\app\allocs.exe", ModuleFormat.Pe)]
    [InlineData(@"c:/Windows/System32/ntdll.dll", ModuleFormat.Pe)]
    [InlineData(@"\Device\HarddiskVolume3\app\allocs.exe", ModuleFormat.Pe)]
    [InlineData(@"\SystemRoot\System32\ntoskrnl.exe", ModuleFormat.Pe)]
    [InlineData(@"\\build\share\lib.dll", ModuleFormat.Pe)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", ModuleFormat.Elf)]
    [InlineData("/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/System.Private.CoreLib.dll", ModuleFormat.Elf)]
    [InlineData("[vdso]", ModuleFormat.Elf)]
    [InlineData("", ModuleFormat.Elf)]
    public void A_module_path_tells_a_PE_image_from_an_ELF_file(string path, ModuleFormat expected)
    {
        Assert.Equal(expected, ModuleFormats.Of(new MappedModule(path, "", 0x1000, 0x2000, 0)));
        // The exporters (module names, Breakpad ids) tell Windows modules apart by the same rule.
        Assert.Equal(expected == ModuleFormat.Pe, new ModuleInfo(path, "").IsWindowsPath);
    }

    /// <summary>Off Windows the PDB reader's answer is known exactly.</summary>
    [Windows.NotOnWindowsFact]
    public void The_loaders_resolver_names_ELF_modules_from_their_symbols_and_PE_modules_through_the_PDB_reader()
    {
        SystemTools.Require(["gcc", "nm", "readelf"]);
        string program = programs.FixedAddress!;
        var function = Nm.DefinedFunctions(program, dynamic: false).Single(f => f.Name == "weak_function");
        var text = Readelf.LoadSegments(program).Single(l => l.Flags.Contains('E'));
        var elf = new MappedModule(program, Readelf.BuildId(program) ?? "", text.VirtualAddress & ~0xfffUL,
            (text.VirtualAddress + text.MemorySize + 0xfff) & ~0xfffUL, text.Offset & ~0xfffUL);
        ulong elfOffset = function.Address + function.Size / 2 - elf.Start + elf.FileOffset;
        var pe = new MappedModule(@"C:\app\allocs.exe", "", 0x7ff6_1000_0000, 0x7ff6_1010_0000, 0);

        using var resolver = RecordingLoader.Resolver(SymbolOptions.Default);
        var elfFrames = resolver.Resolve(elf, elfOffset, elfOffset);
        var peFrames = resolver.Resolve(pe, 0x1233, 0x1234);

        Assert.Equal("weak_function", elfFrames[0].Function); // outermost: the function, not a call inlined into it
        Assert.Equal("allocs.exe+0x1234", Assert.Single(peFrames).Function);
        Assert.Contains(resolver.Warnings, w => w.Contains("PDB symbols can only be read on Windows", StringComparison.Ordinal));
    }

    [Fact]
    public void A_formats_resolver_is_made_once_when_its_first_module_is_seen_and_disposed_with_the_set()
    {
        var made = new List<CountingResolver>();
        var resolver = new ModuleFormatResolver(format =>
        {
            var r = new CountingResolver(format);
            made.Add(r);
            return r;
        });
        var linux = new MappedModule("/usr/bin/app", "", 0x1000, 0x2000, 0);
        var windows = new MappedModule(@"C:\app\app.exe", "", 0x1000, 0x2000, 0);

        resolver.Resolve(linux, 1, 1);
        resolver.Resolve(linux, 2, 2);
        Assert.Equal([ModuleFormat.Elf], made.Select(r => r.Format));
        Assert.Equal(["Elf resolver"], resolver.Warnings);

        Assert.Equal("Pe:0x3", Assert.Single(resolver.Resolve(windows, 3, 3)).Function);
        Assert.Equal([ModuleFormat.Elf, ModuleFormat.Pe], made.Select(r => r.Format));
        Assert.Equal([2, 1], made.Select(r => r.Calls));
        Assert.Equal(["Elf resolver", "Pe resolver"], resolver.Warnings);

        resolver.Dispose();
        Assert.All(made, r => Assert.True(r.Disposed));
    }

    sealed class CountingResolver(ModuleFormat format) : IFrameResolver, IWarningSource, IDisposable
    {
        public ModuleFormat Format => format;
        public int Calls { get; private set; }
        public bool Disposed { get; private set; }
        public IReadOnlyList<string> Warnings => [$"{format} resolver"];

        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset)
        {
            Calls++;
            return [new ResolvedFrame($"{format}:0x{fileOffset:x}", module.Path, module.BuildId, fileOffset, null, null)];
        }

        public void Dispose() => Disposed = true;
    }
}
