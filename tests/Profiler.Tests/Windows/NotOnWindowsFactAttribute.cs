namespace Profiler.Tests.Windows;

/// <summary>A fact about what memprof does where Windows is absent. On Windows it is reported as
/// skipped, with why, rather than passing without checking anything.</summary>
public sealed class NotOnWindowsFactAttribute : FactAttribute
{
    public NotOnWindowsFactAttribute()
    {
        if (OperatingSystem.IsWindows())
            Skip = "checks the behaviour without Windows";
    }
}
