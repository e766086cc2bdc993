using Profiler.Cli;

return await MemprofCli.RunAsync(args, Console.Out, Console.Error);
