namespace Profiler.Symbols.Elf;

public enum ElfKind
{
    /// <summary>Relocatable objects, core dumps and anything else that is never mapped as code.</summary>
    Other,

    /// <summary>ET_EXEC: linked at a fixed address.</summary>
    Executable,

    /// <summary>ET_DYN: shared libraries and position-independent executables, loaded at a bias.</summary>
    SharedObject,
}
