// CPU simulator stand-in: the types come from kiln_sim.h (included first)
