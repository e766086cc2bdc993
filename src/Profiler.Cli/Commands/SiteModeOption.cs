using System.CommandLine;
using Profiler.Core;
using Profiler.Core.Analysis;

namespace Profiler.Cli.Commands;

/// <summary>--sites program|innermost: which frame of a stack names its allocation's site.</summary>
public static class SiteModeOption
{
    public static Option<SiteMode> Create() => new("--sites")
    {
        Description = "Which frame is an allocation's site: program = the innermost function of the program's own code, " +
                      "with the standard-library calls it went through (Rust std, C++ std, libc) shown as 'via'; " +
                      "innermost = the innermost function outside the allocator, whatever code it is. Default: program.",
        DefaultValueFactory = _ => SiteMode.Program,
        CustomParser = r => Parse(r.Tokens[0].Value),
    };

    public static SiteMode Parse(string text) => text.ToLowerInvariant() switch
    {
        "program" => SiteMode.Program,
        "innermost" => SiteMode.Innermost,
        _ => throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not a site choice (use program or innermost)"),
    };
}
