namespace Profiler.Export.Checks;

/// <summary>What the CI system tells a job through its environment.</summary>
/// <param name="IsCi">CI=true (set by GitHub Actions, GitLab CI and most others) or --ci.</param>
/// <param name="StepSummaryPath">GITHUB_STEP_SUMMARY: a Markdown file GitHub shows on the run's page.</param>
public sealed record CiEnvironment(bool IsCi, string? StepSummaryPath)
{
    public static CiEnvironment From(bool ciOption, Func<string, string?> variable)
    {
        string? ci = variable("CI");
        bool isCi = ciOption || string.Equals(ci, "true", StringComparison.OrdinalIgnoreCase) || ci == "1";
        string? summary = variable("GITHUB_STEP_SUMMARY");
        return new CiEnvironment(isCi, isCi && !string.IsNullOrEmpty(summary) ? summary : null);
    }

    public static CiEnvironment Current(bool ciOption) => From(ciOption, Environment.GetEnvironmentVariable);
}
