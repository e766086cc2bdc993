using Profiler.Core.Model;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.DotNet;

/// <summary>Lines as .NET 10's runtime writes them to /tmp/perf-PID.map (DOTNET_PerfMapEnabled=3),
/// named as .NET tools print methods: Namespace.Type.Method(args), without return type, assembly
/// references or tier.</summary>
public sealed class PerfMapNameTests
{
    [Theory]
    [InlineData("int32 [DotnetSample] Program::<Main>$(string[])[QuickJitted]", "Program.<Main>$(string[])", "DotnetSample")]
    [InlineData("void [DotnetSample] DotnetSample.Workload::Run(class [System.Runtime]System.IO.TextWriter)[QuickJitted]",
        "DotnetSample.Workload.Run(System.IO.TextWriter)", "DotnetSample")]
    [InlineData("native uint [DotnetSample] DotnetSample.NativeWork::LeakThroughRust()[QuickJitted]",
        "DotnetSample.NativeWork.LeakThroughRust()", "DotnetSample")]
    [InlineData("uint64 [DotnetSample] DotnetSample.NativeWork::ChurnThroughRust(int32)[OptimizedTier1]",
        "DotnetSample.NativeWork.ChurnThroughRust(int32)", "DotnetSample")]
    [InlineData("void [System.Private.CoreLib] System.SpanHelpers::Fill(!!0&,native uint,!!0)[OptimizedTier1OSR]",
        "System.SpanHelpers.Fill(!!0&,native uint,!!0)", "System.Private.CoreLib")]
    [InlineData("!0 [System.Private.CoreLib] System.RuntimeType+IGenericCacheEntry`1[System.__Canon]::CreateAndCache(class System.RuntimeType)[QuickJitted]",
        "System.RuntimeType+IGenericCacheEntry`1[System.__Canon].CreateAndCache(System.RuntimeType)", "System.Private.CoreLib")]
    [InlineData("class [System.Runtime]System.IO.TextWriter [System.Console] System.Console::get_Out()[PreJIT]",
        "System.Console.get_Out()", "System.Console")]
    [InlineData("void [System.Private.CoreLib] System.Threading.Monitor::Enter(object)[PreJit-cold]",
        "System.Threading.Monitor.Enter(object)", "System.Private.CoreLib")]
    [InlineData("uint8[] [DotnetSample] DotnetSample.Workload::Make(valuetype [System.Runtime]System.Span`1<uint8>)[QuickJitted]",
        "DotnetSample.Workload.Make(System.Span`1<uint8>)", "DotnetSample")]
    public void A_method_is_named_as_dotnet_tools_name_it(string raw, string function, string assembly)
    {
        var name = PerfMapName.Parse(raw);
        Assert.Equal((function, assembly, false), (name.Function, name.Assembly, name.IsStub));
    }

    [Fact]
    public void A_stub_is_grouped_under_the_runtime_stubs()
    {
        var name = PerfMapName.Parse("stub ReportStubBlock<MethodCallThunk>");
        Assert.Equal(("[stub] ReportStubBlock<MethodCallThunk>", ManagedName.StubsAssembly, true), (name.Function, name.Assembly, name.IsStub));
    }

    [Fact]
    public void Addresses_find_their_method_and_a_later_entry_at_the_same_start_wins()
    {
        var first = new JitSymbols { Pid = 5, Source = "perf-map" };
        first.Symbols.Add(new JitSymbol { Start = 0x1000, Size = 0x10000, Name = "stub ReportStubBlock<MethodCallThunk>" });
        first.Symbols.Add(new JitSymbol { Start = 0x20000, Size = 0xa8, Name = "native uint [A] N.T::Leak()[QuickJitted]" });
        first.Symbols.Add(new JitSymbol { Start = 0x20100, Size = 0x10, Name = "void [A] N.T::Old()[QuickJitted]" });
        var second = new JitSymbols { Pid = 5, Source = "perf-map" };
        second.Symbols.Add(new JitSymbol { Start = 0x20100, Size = 0x20, Name = "void [A] N.T::New()[OptimizedTier1]" });
        var map = JitCodeMap.From([first, second]);

        Assert.True(map.TryFind(5, 0x200a7, out var leak, out ulong start));
        Assert.Equal(("N.T.Leak()", 0x20000UL), (leak.Function, start));
        Assert.False(map.TryFind(5, 0x200a8, out _, out _));
        Assert.True(map.TryFind(5, 0x2011f, out var reused, out _));
        Assert.Equal("N.T.New()", reused.Function);
        Assert.True(map.TryFind(5, 0x2000, out var stub, out _));
        Assert.True(stub.IsStub);
        Assert.False(map.TryFind(6, 0x20000, out _, out _));
        Assert.Equal(".NET A", JitCodeMap.ModulePath(leak));
        Assert.True(JitCodeMap.IsManagedModule(JitCodeMap.ModulePath(leak)));
    }
}
