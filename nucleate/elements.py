"""Standard atomic masses (g/mol) for the elements nucleate systems use (IUPAC conventional;
the Ag/S/N/C/H/O values are those of the study's own in.lmp)."""

MASSES = {
    "H": 1.00794, "He": 4.002602, "Li": 6.941, "C": 12.0107, "N": 14.0067, "O": 15.9994,
    "F": 18.9984032, "Na": 22.98976928, "Mg": 24.305, "Al": 26.9815386, "Si": 28.0855,
    "P": 30.973762, "S": 32.065, "Cl": 35.453, "Ar": 39.948, "K": 39.0983, "Ca": 40.078,
    "Fe": 55.845, "Cu": 63.546, "Zn": 65.38, "Br": 79.904, "Pd": 106.42, "Ag": 107.8682,
    "I": 126.90447, "Pt": 195.084, "Au": 196.966569,
}
