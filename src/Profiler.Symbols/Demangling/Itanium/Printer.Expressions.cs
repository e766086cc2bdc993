namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Operators and expressions (template arguments, decltype, array bounds).</summary>
internal sealed partial class Printer
{
    private bool TryPrintExpression(Node node)
    {
        switch (node.Kind)
        {
            case NodeKind.InitializerList:
                if (node.Left is not null)
                {
                    PrintNode(node.Left);
                }

                Append('{');
                PrintNode(node.Right);
                Append('}');
                return true;
            case NodeKind.Operator:
                PrintOperatorName(node.Operator!);
                return true;
            case NodeKind.ExtendedOperator:
                Append("operator ");
                PrintNode(node.Left);
                return true;
            case NodeKind.Conversion:
                Append("operator ");
                PrintConversion(node);
                return true;
            case NodeKind.Nullary:
                PrintExpressionOperator(node.Left);
                return true;
            case NodeKind.Unary:
                PrintUnary(node);
                return true;
            case NodeKind.Binary:
                PrintBinary(node);
                return true;
            case NodeKind.Trinary:
                PrintTrinary(node);
                return true;
            case NodeKind.Literal or NodeKind.NegativeLiteral:
                PrintLiteral(node);
                return true;
            case NodeKind.VendorExpression:
                PrintNode(node.Left);
                Append('(');
                PrintNode(node.Right);
                Append(')');
                return true;
            case NodeKind.Decltype:
                Append("decltype (");
                PrintNode(node.Left);
                Append(')');
                return true;
            case NodeKind.PackExpansion:
                PrintPackExpansion(node);
                return true;
            case NodeKind.FunctionParam:
                if (node.Number == 0)
                {
                    Append("this");
                }
                else
                {
                    Append("{parm#");
                    AppendNumber(node.Number);
                    Append('}');
                }

                return true;
            default:
                return false;
        }
    }

    private void PrintOperatorName(OperatorInfo op)
    {
        Append("operator");
        if (op.Name[0] is >= 'a' and <= 'z')
        {
            Append(' ');
        }

        Append(op.Name.EndsWith(' ') ? op.Name[..^1] : op.Name);
    }

    private void PrintExpressionOperator(Node? op)
    {
        if (op?.Kind == NodeKind.Operator)
        {
            Append(op.Operator!.Name);
        }
        else
        {
            PrintNode(op);
        }
    }

    /// <summary>Parenthesises anything but plain names, so precedence never needs working out.</summary>
    private void PrintSubexpression(Node? node)
    {
        bool simple = node?.Kind is NodeKind.Name or NodeKind.QualifiedName or NodeKind.InitializerList
            or NodeKind.FunctionParam;
        if (!simple)
        {
            Append('(');
        }

        PrintNode(node);
        if (!simple)
        {
            Append(')');
        }
    }

    private void PrintUnary(Node node)
    {
        var op = node.Left!;
        var operand = node.Right;
        string? code = op.Operator?.Code;
        if (code == "ad" && operand is { Kind: NodeKind.TypedName, Left.Kind: NodeKind.QualifiedName, Right.Kind: NodeKind.FunctionType })
        {
            // Taking a function's address: its parameter list is noise.
            operand = operand.Left;
        }

        if (code is not null && operand?.Kind == NodeKind.BinaryArguments)
        {
            // Postfix ++/-- were marked by duplicating the operand.
            PrintSubexpression(operand.Left);
            PrintExpressionOperator(op);
            return;
        }

        if (code == "sZ")
        {
            AppendNumber(PackLength(FindPack(operand)));
            return;
        }

        if (code == "sP")
        {
            AppendNumber(ArgumentsLength(operand));
            return;
        }

        if (op.Kind == NodeKind.Cast)
        {
            Append('(');
            PrintNode(op.Left);
            Append(')');
        }
        else
        {
            PrintExpressionOperator(op);
        }

        if (code == "gs")
        {
            PrintNode(operand);
        }
        else if (code is "st" or "nx")
        {
            Append('(');
            PrintNode(operand);
            Append(')');
        }
        else
        {
            PrintSubexpression(operand);
        }
    }

    private void PrintBinary(Node node)
    {
        var op = node.Left!;
        var arguments = node.Right;
        if (arguments?.Kind != NodeKind.BinaryArguments || op.Operator is not { } info)
        {
            Fail();
            return;
        }

        if (info.IsNewStyleCast)
        {
            PrintExpressionOperator(op);
            Append('<');
            PrintNode(arguments.Left);
            Append(">(");
            PrintNode(arguments.Right);
            Append(')');
            return;
        }

        if (TryPrintFold(op, arguments.Left, arguments.Right, null) || TryPrintDesignatedInit(node))
        {
            return;
        }

        // Keep a '>' operator from reading as the end of the template argument list.
        bool isGreaterThan = info.Name == ">";
        if (isGreaterThan)
        {
            Append('(');
        }

        string code = info.Code;
        if (code == "cl" && arguments.Left?.Kind == NodeKind.TypedName)
        {
            // A call shows argument values, not the callee's parameter types.
            var function = arguments.Left;
            if (function.Right?.Kind != NodeKind.FunctionType)
            {
                Fail();
            }

            PrintSubexpression(function.Left);
        }
        else
        {
            PrintSubexpression(arguments.Left);
        }

        if (code == "ix")
        {
            Append('[');
            PrintNode(arguments.Right);
            Append(']');
        }
        else
        {
            if (code != "cl")
            {
                PrintExpressionOperator(op);
            }

            PrintSubexpression(arguments.Right);
        }

        if (isGreaterThan)
        {
            Append(')');
        }
    }

    private void PrintTrinary(Node node)
    {
        var op = node.Left!;
        var first = node.Right;
        var rest = first?.Right;
        if (first?.Kind != NodeKind.TrinaryArgument1 || rest?.Kind != NodeKind.TrinaryArgument2 || op.Operator is null)
        {
            Fail();
            return;
        }

        if (TryPrintFold(op, first.Left, rest.Left, rest.Right) || TryPrintDesignatedInit(node))
        {
            return;
        }

        if (op.Operator.Code == "qu")
        {
            PrintSubexpression(first.Left);
            PrintExpressionOperator(op);
            PrintSubexpression(rest.Left);
            Append(" : ");
            PrintSubexpression(rest.Right);
            return;
        }

        Append("new ");
        if (first.Left?.Left is not null)
        {
            PrintSubexpression(first.Left);
            Append(' ');
        }

        PrintNode(rest.Left);
        if (rest.Right is not null)
        {
            PrintSubexpression(rest.Right);
        }
    }
}
