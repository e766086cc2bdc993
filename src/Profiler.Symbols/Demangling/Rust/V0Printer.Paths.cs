namespace Profiler.Symbols.Demangling.Rust;

/// <summary>Paths: crate roots, nested items, impls and generic instantiations.</summary>
internal sealed partial class V0Printer
{
    /// <param name="inValue">Whether the path is in expression position, where generics need the turbofish "::&lt;".</param>
    private void PrintPath(bool inValue)
    {
        if (!EnterNested())
        {
            LeaveNested();
            return;
        }

        char tag = Next();
        switch (tag)
        {
            case 'C':
                // The crate disambiguator is a hash; the alternate form leaves it out.
                Disambiguator();
                PrintIdentifier(ParseIdentifier());
                break;
            case 'N':
                PrintNestedPath(inValue);
                break;
            case 'M' or 'X' or 'Y':
                if (tag != 'Y')
                {
                    // The impl's own path only says where the impl block is; the output shows its type instead.
                    Disambiguator();
                    Skipping(() => PrintPath(inValue: false));
                }

                Print('<');
                PrintType();
                if (tag != 'M')
                {
                    Print(" as ");
                    PrintPath(inValue: false);
                }

                Print('>');
                break;
            case 'I':
                PrintPath(inValue);
                if (inValue)
                {
                    Print("::");
                }

                Print('<');
                PrintList(PrintGenericArgument, ", ");
                Print('>');
                break;
            case 'B':
                PrintBackref(() => PrintPath(inValue));
                break;
            default:
                Invalid();
                break;
        }

        LeaveNested();
    }

    /// <summary>N &lt;namespace&gt; &lt;path&gt; &lt;identifier&gt;; upper-case namespaces are closures, shims and the like.</summary>
    private void PrintNestedPath(bool inValue)
    {
        char ns = Next();
        if (!char.IsAsciiLetter(ns))
        {
            Invalid();
            return;
        }

        PrintPath(inValue);
        ulong disambiguator = Disambiguator();
        var name = ParseIdentifier();
        if (_failed)
        {
            return;
        }

        if (char.IsAsciiLetterUpper(ns))
        {
            Print("::{");
            Print(ns switch
            {
                'C' => "closure",
                'S' => "shim",
                _ => ns.ToString(),
            });
            if (!name.IsEmpty)
            {
                Print(':');
                PrintIdentifier(name);
            }

            Print('#');
            Print(disambiguator);
            Print('}');
        }
        else if (!name.IsEmpty)
        {
            Print("::");
            PrintIdentifier(name);
        }
    }

    private void PrintGenericArgument()
    {
        if (Eat('L'))
        {
            PrintLifetime(Integer62());
        }
        else if (Eat('K'))
        {
            PrintConst(inValue: false);
        }
        else
        {
            PrintType();
        }
    }

    /// <summary>0 is the erased lifetime '_; n counts back through the enclosing binders' lifetimes 'a, 'b, ...</summary>
    private void PrintLifetime(ulong index)
    {
        Print('\'');
        if (index == 0)
        {
            Print('_');
            return;
        }

        if (index > (ulong)_boundLifetimeDepth)
        {
            Invalid();
            return;
        }

        ulong depth = (ulong)_boundLifetimeDepth - index;
        if (depth < 26)
        {
            Print((char)('a' + (int)depth));
        }
        else
        {
            Print('_');
            Print(depth);
        }
    }

    /// <summary>An optional G &lt;count&gt; binder introducing late-bound lifetimes, printed as "for&lt;'a, 'b&gt; ".</summary>
    private void InBinder(Action body)
    {
        ulong boundLifetimes = OptionalInteger62('G');
        if (_failed || boundLifetimes > MaxBoundLifetimes)
        {
            Invalid();
            return;
        }

        if (boundLifetimes > 0)
        {
            Print("for<");
            for (ulong i = 0; i < boundLifetimes; i++)
            {
                if (i > 0)
                {
                    Print(", ");
                }

                _boundLifetimeDepth++;
                PrintLifetime(1);
            }

            Print("> ");
        }

        body();
        _boundLifetimeDepth -= (int)boundLifetimes;
    }
}
