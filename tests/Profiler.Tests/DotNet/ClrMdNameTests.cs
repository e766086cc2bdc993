using Profiler.Collectors.Linux.DotNet;
using Profiler.Core.Model;

namespace Profiler.Tests.DotNet;

/// <summary>The same methods as .NET 10 names them twice: through its DAC (what ClrMD's
/// ClrMethod.Signature returns, read from a running DotnetSample) and in its perf map (the same
/// process, DOTNET_PerfMapEnabled=3). Turned into a perf map entry, the DAC's name must read as the
/// perf map's does once both are parsed, so a frame named either way is the same frame.</summary>
public sealed class ClrMdNameTests
{
    const string CoreLib = "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll";
    const string Sample = "/work/samples/bin/dotnet/DotnetSample.dll";

    [Theory]
    [InlineData("Program.<Main>$(System.String[])", Sample,
        "int32 [DotnetSample] Program::<Main>$(string[])[QuickJitted]")]
    [InlineData("DotnetSample.Workload.Run(System.IO.TextWriter)", Sample,
        "void [DotnetSample] DotnetSample.Workload::Run(class [System.Runtime]System.IO.TextWriter)[QuickJitted]")]
    [InlineData("DotnetSample.NativeWork.LeakThroughRust()", Sample,
        "native uint [DotnetSample] DotnetSample.NativeWork::LeakThroughRust()[QuickJitted]")]
    [InlineData("DotnetSample.NativeWork.ChurnThroughRust(Int32)", Sample,
        "uint64 [DotnetSample] DotnetSample.NativeWork::ChurnThroughRust(int32)[QuickJitted]")]
    [InlineData("DotnetSample.Workload..cctor()", Sample,
        "void [DotnetSample] DotnetSample.Workload::.cctor()[QuickJitted]")]
    [InlineData("System.SpanHelpers.SequenceCompareTo(Char ByRef, Int32, Char ByRef, Int32)", CoreLib,
        "int32 [System.Private.CoreLib] System.SpanHelpers::SequenceCompareTo(char&,int32,char&,int32)[QuickJitted]")]
    [InlineData("System.RuntimeType+IGenericCacheEntry`1[[System.__Canon, System.Private.CoreLib]].CreateAndCache(System.RuntimeType)", CoreLib,
        "!0 [System.Private.CoreLib] System.RuntimeType+IGenericCacheEntry`1[System.__Canon]::CreateAndCache(class System.RuntimeType)[QuickJitted]")]
    [InlineData("System.Runtime.CompilerServices.CastHelpers.StelemRef(System.Object[], IntPtr, System.Object)", CoreLib,
        "void [System.Private.CoreLib] System.Runtime.CompilerServices.CastHelpers::StelemRef(object[],native int,object)[OptimizedTier1]")]
    [InlineData("System.Runtime.CompilerServices.StaticsHelpers.GetGCStaticBase(System.Runtime.CompilerServices.MethodTable*)", CoreLib,
        "uint8& [System.Private.CoreLib] System.Runtime.CompilerServices.StaticsHelpers::GetGCStaticBase(valuetype System.Runtime.CompilerServices.MethodTable*)[OptimizedTier1]")]
    [InlineData("System.Threading.Thread.GetThreadStaticsBase()", CoreLib,
        "valuetype System.Runtime.CompilerServices.StaticsHelpers/ThreadLocalData* [System.Private.CoreLib] System.Threading.Thread::GetThreadStaticsBase()[QuickJitted]")]
    public void A_method_named_by_the_DAC_reads_as_its_perf_map_entry(string signature, string assembly, string perfMap)
    {
        var expected = PerfMapName.Parse(perfMap);
        var actual = PerfMapName.Parse(ClrMdName.PerfMapEntry(signature, assembly));
        Assert.Equal((expected.Function, expected.Assembly, expected.IsStub), (actual.Function, actual.Assembly, actual.IsStub));
    }

    [Theory]
    // A generic method's instantiation: the perf map prints the open signature (!!0), the DAC the
    // instantiated one; the types are written as the perf map writes types, nested or multiple.
    [InlineData("System.SpanHelpers.Fill[[System.Byte, System.Private.CoreLib]](Byte ByRef, UIntPtr, Byte)",
        "[System.Private.CoreLib] System.SpanHelpers.Fill[System.Byte](uint8&,native uint,uint8)")]
    [InlineData("N.Cache`2[[System.String, System.Private.CoreLib],[System.Collections.Generic.List`1[[System.Int32, System.Private.CoreLib]], System.Private.CoreLib]].Get(Int32[,], SByte*, Boolean)",
        "[System.Private.CoreLib] N.Cache`2[System.String,System.Collections.Generic.List`1[System.Int32]].Get(int32[,],int8*,bool)")]
    public void Instantiations_lose_their_assemblies_and_parameters_use_IL_keywords(string signature, string entry) =>
        Assert.Equal(entry, ClrMdName.PerfMapEntry(signature, CoreLib));
}
