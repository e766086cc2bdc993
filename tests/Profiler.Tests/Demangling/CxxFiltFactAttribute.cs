namespace Profiler.Tests.Demangling;

/// <summary>Runs only where c++filt, nm and libstdc++ exist; elsewhere it is reported as skipped.</summary>
public sealed class CxxFiltFactAttribute : FactAttribute
{
    public CxxFiltFactAttribute()
    {
        if (ExternalTools.MissingPrerequisite() is { } missing)
        {
            Skip = missing;
        }
    }
}
