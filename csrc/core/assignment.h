// Linear assignment, shared by the trackers and the associator.
//  - hungarian(): dense rectangular minimum-cost assignment (shortest augmenting paths with
//    potentials, O(rows^2 * cols)), the exact reference the gated solver builds on.
//  - AssignmentSolver: matching with a cost limit. Pairs with cost >= limit are never
//    matched; among the rest it maximises sum(limit - cost), the same objective as LAPJV with
//    an extended matrix and cost_limit. The bipartite graph of allowed pairs is split into
//    connected components first, so a frame of well-separated objects costs almost nothing.
// Thread safety: an AssignmentSolver is used by one thread at a time (it keeps scratch
// buffers so steady-state calls do not allocate); hungarian() is reentrant.
#pragma once

#include <vector>

namespace vas {

// Scratch space for hungarian(); reuse one across calls to avoid allocations.
struct HungarianWorkspace {
  std::vector<double> u, v, minv;
  std::vector<int> p, way;
  std::vector<char> used;
};

// Minimum-cost assignment of a rows x cols row-major matrix with rows <= cols: every row gets
// a distinct column. Writes row_to_col[rows] and returns the total cost.
double hungarian(const double* cost, int rows, int cols, int* row_to_col, HungarianWorkspace* ws);

// Minimum-cost rectangular assignment of any shape (transposed internally when rows > cols).
// Returns, for each row, its column or -1. Every row gets a column when rows <= cols, and every
// column a row otherwise; pairs whose cost is >= forbidden are left unassigned afterwards
// (pass a value above every allowed cost to mark pairs that must never match).
std::vector<int> solve_assignment(const std::vector<double>& cost, int rows, int cols,
                                  double forbidden = 1e18);

class AssignmentSolver {
 public:
  // cost is rows x cols row-major. On return row_match[r] is the matched column or -1, and
  // col_match[c] the matched row or -1.
  void solve(const float* cost, int rows, int cols, float limit, std::vector<int>* row_match,
             std::vector<int>* col_match);

 private:
  int find(int a);

  std::vector<int> parent_;
  std::vector<int> comp_start_, comp_items_, comp_of_, comp_fill_;
  std::vector<int> sub_rows_, sub_cols_, sub_assign_;
  std::vector<double> sub_cost_;
  HungarianWorkspace ws_;
};

}  // namespace vas
